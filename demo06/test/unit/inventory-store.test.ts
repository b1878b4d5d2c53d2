import { describe, expect, it } from 'vitest';
import { books } from '../../src/services/book-api/definition.js';
import { cds } from '../../src/services/cd-api/definition.js';
import { dvds } from '../../src/services/dvd-api/definition.js';
import { stockFixtures } from '../../src/services/inventory-api/fixtures.js';
import { loadConfig } from '../../src/lib/config.js';
import { InventoryStore } from '../../src/services/inventory-api/store.js';

const limits = loadConfig('inventory-api', {}).limits;

describe('InventoryStore', () => {
  it('has a stock record for every seeded catalog item, some of them at 0', () => {
    expect(stockFixtures.book).toHaveLength(books.fixtures.length);
    expect(stockFixtures.cd).toHaveLength(cds.fixtures.length);
    expect(stockFixtures.dvd).toHaveLength(dvds.fixtures.length);
    expect(Object.values(stockFixtures).flat()).toContain(0);
  });

  it('reserves all or nothing', () => {
    const store = new InventoryStore(limits);
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
    const store = new InventoryStore(limits);
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
    const store = new InventoryStore(limits);
    expect(store.reserve('k', [{ type: 'book', id: 999, quantity: 1 }])).toMatchObject({
      kind: 'short',
      short: [{ type: 'book', id: 999, available: 0 }],
    });
  });

  it('pages through records in type, then id, order, including records created out of order', () => {
    const store = new InventoryStore(limits);
    store.set('book', 500, 1);
    store.set('book', 11, 1);
    const all = [];
    let after: { type: 'book' | 'cd' | 'dvd'; id: number } | undefined;
    for (;;) {
      const { items, more } = store.page({ limit: 7, ...(after && { after }) });
      all.push(...items);
      if (!more) break;
      after = items.at(-1);
    }
    const keys = all.map((r) => `${r.type}:${r.id}`);
    expect(keys.slice(0, 12)).toEqual([...Array.from({ length: 11 }, (_, i) => `book:${i + 1}`), 'book:500']);
    expect(keys.at(-1)).toBe('dvd:9');
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses a new record past its bound, but still replaces an existing one', () => {
    const store = new InventoryStore({ ...limits, inventoryMaxRecords: 29 }); // the 28 seeded, and one more
    expect(store.set('book', 11, 1).kind).toBe('set');
    expect(store.set('book', 12, 1)).toEqual({ kind: 'full', max: 29 });
    expect(store.set('book', 1, 3)).toMatchObject({ kind: 'set', record: { quantity: 3 } });
  });

  it('answers a retry for the TTL, then forgets the key; past the bound it reserves nothing', () => {
    let now = 0;
    const store = new InventoryStore(
      { ...limits, reservationTtlSeconds: 60, reservationMaxKept: 2 },
      () => now,
    );
    const line = [{ type: 'book' as const, id: 1, quantity: 1 }];
    expect(store.reserve('a', line).kind).toBe('reserved');
    expect(store.reserve('b', line).kind).toBe('reserved');
    expect(store.reserve('c', line)).toEqual({ kind: 'full', max: 2 });
    expect(store.get('book', 1)?.quantity).toBe(10);
    now = 59_000;
    expect(store.reserve('a', line).kind).toBe('replayed');
    now = 60_000;
    expect(store.reserve('c', line).kind).toBe('reserved');
    expect(store.reserve('a', line).kind).toBe('reserved');
    expect(store.get('book', 1)?.quantity).toBe(8);
  });
});
