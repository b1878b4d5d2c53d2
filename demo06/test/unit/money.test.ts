import { describe, expect, it } from 'vitest';
import { fromCents, price, toCents } from '../../src/lib/money.js';

describe('price', () => {
  it.each([0, 0.01, 9.99, 19.9, 99999.99])('accepts %s', (value) => {
    expect(price.safeParse(value).success).toBe(true);
  });

  it.each([-0.01, 100000, 1.555, Number.NaN, '9.99'])('refuses %s', (value) => {
    expect(price.safeParse(value).success).toBe(false);
  });

  it('adds in cents, so 0.1 + 0.2 is 0.3', () => {
    expect(fromCents(toCents(0.1) + toCents(0.2))).toBe(0.3);
    expect(fromCents(toCents(19.99) * 3)).toBe(59.97);
  });
});
