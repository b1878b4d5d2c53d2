import { describe, expect, it } from 'vitest';
import { ean13CheckDigit, isValidEan13 } from '../../src/lib/check-digit.js';
import { NumberSequence } from '../../src/services/number-api/store.js';

describe('EAN-13 / ISBN-13 check digit', () => {
  it('matches published numbers', () => {
    expect(ean13CheckDigit('978030640615')).toBe(7); // ISBN 978-0-306-40615-7
    expect(ean13CheckDigit('400638133393')).toBe(1); // EAN 4006381333931
    expect(ean13CheckDigit('978000000000')).toBe(2);
  });

  it('rejects a wrong check digit, a wrong length and non-digits', () => {
    expect(isValidEan13('9780306406157')).toBe(true);
    expect(isValidEan13('9780306406158')).toBe(false);
    expect(isValidEan13('978030640615')).toBe(false);
    expect(isValidEan13('97803064061x7')).toBe(false);
    expect(() => ean13CheckDigit('12')).toThrow();
  });
});

describe('NumberSequence', () => {
  it('hands out valid numbers under its prefix that never repeat', () => {
    const isbn = new NumberSequence('978');
    const taken = Array.from({ length: 2000 }, () => isbn.take());
    expect(new Set(taken).size).toBe(taken.length);
    for (const number of taken) {
      expect(number).toMatch(/^978\d{10}$/);
      expect(isValidEan13(number)).toBe(true);
    }
  });
});
