import { randomInt } from 'node:crypto';
import { withCheckDigit } from '../../lib/check-digit.js';

/**
 * Hands out numbers that never repeat within a process: a counter under a fixed prefix, starting at a
 * random point so that two instances rarely overlap.
 */
export class NumberSequence {
  private next: number;
  private readonly prefix: string;
  private readonly width: number;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.width = 12 - prefix.length;
    this.next = randomInt(0, 10 ** (this.width - 1));
  }

  take(): string {
    const value = this.next++;
    if (value >= 10 ** this.width) throw new Error(`the ${this.prefix} number range is exhausted`);
    return withCheckDigit(this.prefix + String(value).padStart(this.width, '0'));
  }
}

/** ISBN-13 in the 978 "Bookland" prefix; EAN-13 in the 20 prefix, reserved for in-store numbering. */
export const createNumberStore = () => ({ isbn: new NumberSequence('978'), ean: new NumberSequence('20') });
export type NumberStore = ReturnType<typeof createNumberStore>;
