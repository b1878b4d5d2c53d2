import { describe, expect, it } from 'vitest';
import { CatalogStore } from '../../src/catalog/store.js';
import { HttpProblem } from '../../src/lib/problem.js';
import { books } from '../../src/services/book-api/definition.js';

const fields = { title: 'T', author: 'A', year: 2000, price: 1 };

describe('CatalogStore', () => {
  it('refuses a create past its cap with 507 and creates nothing', () => {
    const store = new CatalogStore(books, books.fixtures.length + 1);
    store.create(fields, '9780000000000');
    expect(() => store.create(fields, '9780000000001')).toThrow(HttpProblem);
    expect(() => store.assertRoom()).toThrow(/full \(11 items\)/);
    expect(store.page({ limit: 100 }).items).toHaveLength(11);
  });

  it('pages by id after deletes, without gaps or repeats', () => {
    const store = new CatalogStore(books, 100);
    store.delete(3);
    store.delete(4);
    expect(store.page({ limit: 3, after: 2 }).items.map((i) => i.id)).toEqual([5, 6, 7]);
    expect(store.page({ limit: 3, after: 3 }).items.map((i) => i.id)).toEqual([5, 6, 7]);
    expect(store.page({ limit: 3, after: 7 })).toMatchObject({ more: false });
    expect(store.page({ limit: 3, after: 7 }).items.map((i) => i.id)).toEqual([8, 9, 10]);
    expect(store.page({ limit: 3, after: 10 })).toEqual({ items: [], more: false });
  });
});
