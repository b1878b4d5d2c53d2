import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, request } from '../support/http.js';
import { nextPage, readAllPages } from '../support/pages.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const books = (query = '') => `${stage.url['book-api']}/api/books${query}`;
const inventory = (query = '') => `${stage.url['inventory-api']}/api/inventory${query}`;
const newBook = (title: string) => ({ title, author: 'A. Writer', year: 2001, price: 1 });

describe('paginated lists', () => {
  it('answers the first 20 items by default, ordered by id, with a Link to the next page', async () => {
    for (let i = 0; i < 15; i++) await request('POST', books(), { json: newBook(`Page filler ${i}`) });
    const first = await request('GET', books());
    expect(first.status).toBe(200);
    expect(first.body).toHaveLength(20);
    const ids = first.body.map((b: { id: number }) => b.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(first.headers.get('link')).toBe(`</api/books?after=${ids[19]}&limit=20>; rel="next"`);
  });

  it('follows Link to the last page, which has no Link; every item exactly once', async () => {
    const all = await readAllPages<{ id: number }>(books('?limit=7'));
    const ids = all.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const last = await request('GET', books(`?after=${ids.at(-2)}`));
    expect(last.body.map((b: { id: number }) => b.id)).toEqual([ids.at(-1)]);
    expect(last.headers.get('link')).toBeNull();
    // A page that ends exactly at the last item has no next page either.
    const exact = await request('GET', books(`?after=${ids.at(-3)}&limit=2`));
    expect(exact.body).toHaveLength(2);
    expect(exact.headers.get('link')).toBeNull();
  });

  it('is stable under creates and deletes between pages: nothing seen twice, nothing that stayed is skipped', async () => {
    const first = await request('GET', books('?limit=5'));
    const seen: number[] = first.body.map((b: { id: number }) => b.id);
    // Delete one item already seen and one not yet seen, create a new one.
    await request('DELETE', books(`/${seen[1]}`));
    const rest = await readAllPages<{ id: number }>(nextPage(first.headers.get('link'), books()) as string);
    const victim = rest[3]?.id as number;
    await request('DELETE', books(`/${victim}`));
    const created = (await request('POST', books(), { json: newBook('Arrived meanwhile') })).body.id;
    const after = await readAllPages<{ id: number }>(nextPage(first.headers.get('link'), books()) as string);
    const afterIds = after.map((b) => b.id);
    expect(afterIds.some((id) => seen.includes(id))).toBe(false);
    expect(afterIds).not.toContain(victim);
    expect(afterIds).toContain(created);
    expect(afterIds).toEqual(
      rest
        .map((b) => b.id)
        .filter((id) => id !== victim)
        .concat(created),
    );
  });

  it('takes limit up to 100', async () => {
    const response = await request('GET', books('?limit=100'));
    expect(response.status).toBe(200);
    expect(response.body.length).toBeLessThanOrEqual(100);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=2.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['after=007', 'after'],
    ['after=abc', 'after'],
    ['after=1e3', 'after'],
    ['after=99999999999999999', 'after'],
    ['sort=title', 'sort'],
  ])('refuses ?%s with a 400 naming %s', async (query, path) => {
    const response = await request('GET', books(`?${query}`));
    expect(isProblem(response, 400)).toBe(true);
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('pages through stock by type, then id; after is <type>:<id>', async () => {
    const first = await request('GET', inventory('?limit=10'));
    expect(first.body).toHaveLength(10);
    expect(first.body.at(-1)).toMatchObject({ type: 'book', id: 10 });
    expect(first.headers.get('link')).toBe('</api/inventory?after=book%3A10&limit=10>; rel="next"');
    const second = await request('GET', inventory('?after=book:10&limit=2'));
    expect((await request('GET', inventory('?after=cd:0&limit=1'))).body).toEqual([
      { type: 'cd', id: 1, quantity: expect.any(Number) },
    ]);
    expect(second.body).toEqual([
      { type: 'cd', id: 1, quantity: expect.any(Number) },
      { type: 'cd', id: 2, quantity: expect.any(Number) },
    ]);
    const all = await readAllPages<{ type: string; id: number }>(inventory());
    const keys = all.map((r) => `${r.type}:${r.id}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const type of ['book', 'cd', 'dvd']) {
      expect(all.filter((r) => r.type === type).length).toBeGreaterThanOrEqual(8);
    }
  });

  it.each(['after=10', 'after=vinyl:1', 'after=book:01', 'after=book:', 'limit=500'])(
    'refuses stock ?%s with a 400',
    async (query) => {
      expect(isProblem(await request('GET', inventory(`?${query}`)), 400)).toBe(true);
    },
  );
});
