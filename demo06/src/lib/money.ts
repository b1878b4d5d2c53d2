import { z } from 'zod';

/** A price: a number >= 0 and < 100000 with at most two decimals. */
export const price = z
  .number({ error: 'must be a number' })
  .min(0, 'must be at least 0')
  .lt(100000, 'must be less than 100000')
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, 'at most two decimals');

/** Money is computed in integer cents and shown with two decimals at most. */
export const toCents = (amount: number): number => Math.round(amount * 100);
export const fromCents = (cents: number): number => cents / 100;
