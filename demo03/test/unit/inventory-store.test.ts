import { describe, expect, it } from 'vitest';
import { books } from '../../src/services/book-api/definition.js';
import { cds } from '../../src/services/cd-api/definition.js';
import { dvds } from '../../src/services/dvd-api/definition.js';
import { stockFixtures } from '../../src/services/inventory-api/fixtures.js';
import { InventoryStore } from '../../src/services/inventory-api/store.js';

describe('InventoryStore', () => {
  it('has a stock record for every seeded catalog item, some of them at 0', () => {
    expect(stockFixtures.book).toHaveLength(books.fixtures.length);
    expect(stockFixtures.cd).toHaveLength(cds.fixtures.length);
    expect(stockFixtures.dvd).toHaveLength(dvds.fixtures.length);
    expect(Object.values(stockFixtures).flat()).toContain(0);
  });

  it('reserves all or nothing', () => {
    const store = new InventoryStore();
    store.set('book', 1, 2);
    store.set('cd', 1, 0);
    const outcome = store.reserve('k1', [
      { type: 'book', id: 1, quantity: 1 },
      { type: 'cd', id: 1, quantity: 1 },
    ]);
    expect(outcome).toEqual({ kind: 'short', short: [{ type: 'cd', id: 1, requested: 1, available: 0 }] });
    expect(store.get('book', 1)?.quantity).toBe(2);
  });

  it('treats the same items in another order, or split over two lines, as the same request', () => {
    const store = new InventoryStore();
    store.set('book', 1, 5);
    store.set('dvd', 2, 5);
    const first = store.reserve('k', [
      { type: 'dvd', id: 2, quantity: 1 },
      { type: 'book', id: 1, quantity: 2 },
    ]);
    const again = store.reserve('k', [
      { type: 'book', id: 1, quantity: 1 },
      { type: 'dvd', id: 2, quantity: 1 },
      { type: 'book', id: 1, quantity: 1 },
    ]);
    expect(first.kind).toBe('reserved');
    expect(again.kind).toBe('replayed');
    expect(store.get('book', 1)?.quantity).toBe(3);
    expect(store.reserve('k', [{ type: 'book', id: 1, quantity: 3 }])).toEqual({ kind: 'key-reused' });
  });

  it('treats an item with no stock record as out of stock', () => {
    const store = new InventoryStore();
    expect(store.reserve('k', [{ type: 'book', id: 999, quantity: 1 }])).toMatchObject({
      kind: 'short',
      short: [{ type: 'book', id: 999, available: 0 }],
    });
  });
});
