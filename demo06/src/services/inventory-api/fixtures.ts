import type { ItemType } from '../../lib/contract.js';

/** Stock for every seeded catalog item (ids 1…n in each catalog); a few at 0 to show "out of stock". */
export const stockFixtures: Record<ItemType, number[]> = {
  book: [12, 8, 5, 0, 20, 3, 7, 1, 4, 6],
  cd: [9, 0, 6, 11, 4, 2, 5, 7, 3],
  dvd: [5, 7, 0, 9, 3, 6, 4, 8, 2],
};
