import { withCheckDigit } from '../services/number-api/check-digit.js';
import type { CatalogDefinition } from './definition.js';

export type Fields = Record<string, unknown>;
export type Item = { id: number } & Fields;

/** The catalog's items, in memory, seeded from the definition's fixtures. */
export class CatalogStore {
  private readonly items = new Map<number, Item>();
  private nextId = 1;
  private readonly numberField: string;

  constructor(definition: CatalogDefinition) {
    this.numberField = definition.numberField;
    // Seeded numbers are fixed (so a lab can refer to them) and valid: a fixed prefix, the id, a check digit.
    const prefix = definition.numberField === 'isbn' ? '978' : '20';
    for (const fixture of definition.fixtures) {
      const id = this.nextId;
      this.create(fixture, withCheckDigit(prefix + String(id).padStart(12 - prefix.length, '0')));
    }
  }

  list(): Item[] {
    return [...this.items.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): Item | undefined {
    return this.items.get(id);
  }

  create(fields: Fields, number: string): Item {
    const item = { id: this.nextId++, [this.numberField]: number, ...fields };
    this.items.set(item.id, item);
    return item;
  }

  /** Replaces an item's fields; its id and number stay. */
  replace(id: number, fields: Fields): Item | undefined {
    const existing = this.items.get(id);
    if (!existing) return undefined;
    const item = { id, [this.numberField]: existing[this.numberField], ...fields };
    this.items.set(id, item);
    return item;
  }

  delete(id: number): boolean {
    return this.items.delete(id);
  }
}
