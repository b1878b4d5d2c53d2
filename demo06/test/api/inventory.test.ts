import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, request } from '../support/http.js';
import { readAllPages } from '../support/pages.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const url = (path: string) => `${stage.url['inventory-api']}/api/inventory${path}`;
const stockOf = async (type: string, id: number) =>
  (await request('GET', url(`/${type}/${id}`))).body.quantity;
const reserve = (key: string | undefined, json: unknown) =>
  request('POST', url('/reservations'), {
    json,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });

describe('inventory-api stock records', () => {
  it('lists stock for every seeded item of the three catalogs, some out of stock', async () => {
    const body = await readAllPages(url(''));
    for (const type of ['book', 'cd', 'dvd']) {
      expect(body.filter((r: { type: string }) => r.type === type).length).toBeGreaterThanOrEqual(8);
    }
    expect(body.some((r: { quantity: number }) => r.quantity === 0)).toBe(true);
  });

  it('gets one record; 404 when an item has no record; 400 for a bad type or id', async () => {
    expect((await request('GET', url('/book/1'))).body).toEqual({
      type: 'book',
      id: 1,
      quantity: expect.any(Number),
    });
    expect(isProblem(await request('GET', url('/book/4242')), 404)).toBe(true);
    expect(isProblem(await request('GET', url('/vinyl/1')), 400)).toBe(true);
    expect(isProblem(await request('GET', url('/book/-1')), 400)).toBe(true);
  });

  it('creates or replaces a record with PUT', async () => {
    const created = await request('PUT', url('/cd/777'), { json: { quantity: 3 } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ type: 'cd', id: 777, quantity: 3 });
    await request('PUT', url('/cd/777'), { json: { quantity: 0 } });
    expect(await stockOf('cd', 777)).toBe(0);
  });

  it.each([
    ['a negative quantity', { quantity: -1 }],
    ['a fractional quantity', { quantity: 1.5 }],
    ['a quantity as a string', { quantity: '3' }],
    ['a missing quantity', {}],
    ['an unknown field', { quantity: 1, note: 'x' }],
  ])('refuses %s with a 400 and keeps the record', async (_, json) => {
    await request('PUT', url('/book/2'), { json: { quantity: 8 } });
    expect(isProblem(await request('PUT', url('/book/2'), { json }), 400)).toBe(true);
    expect(await stockOf('book', 2)).toBe(8);
  });
});

describe('inventory-api reservations', () => {
  it('reserves and takes the stock: 201 with a reservation id and the items', async () => {
    await request('PUT', url('/book/3'), { json: { quantity: 5 } });
    const response = await reserve('order-a', { items: [{ type: 'book', id: 3, quantity: 2 }] });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      reservationId: expect.any(Number),
      items: [{ type: 'book', id: 3, quantity: 2 }],
    });
    expect(await stockOf('book', 3)).toBe(3);
  });

  it('answers a replay with the same key and body with the first answer (200) and reserves nothing more', async () => {
    await request('PUT', url('/book/5'), { json: { quantity: 5 } });
    const body = { items: [{ type: 'book', id: 5, quantity: 1 }] };
    const first = await reserve('order-b', body);
    const replay = await reserve('order-b', body);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    expect(await stockOf('book', 5)).toBe(4);
  });

  it('refuses the same Idempotency-Key with another body: 422, nothing reserved', async () => {
    await request('PUT', url('/dvd/1'), { json: { quantity: 5 } });
    await reserve('order-c', { items: [{ type: 'dvd', id: 1, quantity: 1 }] });
    const other = await reserve('order-c', { items: [{ type: 'dvd', id: 1, quantity: 2 }] });
    expect(isProblem(other, 422)).toBe(true);
    expect(other.body.detail).toContain('order-c');
    expect(await stockOf('dvd', 1)).toBe(4);
  });

  it('is all or nothing: 409 listing the short items, and no stock taken', async () => {
    await request('PUT', url('/cd/3'), { json: { quantity: 10 } });
    await request('PUT', url('/cd/4'), { json: { quantity: 1 } });
    const response = await reserve('order-d', {
      items: [
        { type: 'cd', id: 3, quantity: 2 },
        { type: 'cd', id: 4, quantity: 2 },
        { type: 'cd', id: 9999, quantity: 1 },
      ],
    });
    expect(isProblem(response, 409)).toBe(true);
    expect(response.body.short).toEqual([
      { type: 'cd', id: 4, requested: 2, available: 1 },
      { type: 'cd', id: 9999, requested: 1, available: 0 },
    ]);
    expect(await stockOf('cd', 3)).toBe(10);
    expect(await stockOf('cd', 4)).toBe(1);
  });

  it.each([
    ['no Idempotency-Key', undefined, { items: [{ type: 'book', id: 1, quantity: 1 }] }],
    ['an empty Idempotency-Key', '', { items: [{ type: 'book', id: 1, quantity: 1 }] }],
    [
      'an Idempotency-Key over 100 characters',
      'k'.repeat(101),
      { items: [{ type: 'book', id: 1, quantity: 1 }] },
    ],
    ['no items', 'k-empty', { items: [] }],
    [
      '51 items',
      'k-51',
      { items: Array.from({ length: 51 }, (_, i) => ({ type: 'book', id: i + 1, quantity: 1 })) },
    ],
    ['a quantity of 0', 'k-0', { items: [{ type: 'book', id: 1, quantity: 0 }] }],
    ['an unknown item type', 'k-type', { items: [{ type: 'vinyl', id: 1, quantity: 1 }] }],
    ['an id as a string', 'k-id', { items: [{ type: 'book', id: '1', quantity: 1 }] }],
  ])('refuses %s with a 400 and takes no stock', async (_, key, body) => {
    const before = (await request('GET', url(''))).body;
    expect(isProblem(await reserve(key, body), 400)).toBe(true);
    expect((await request('GET', url(''))).body).toEqual(before);
  });
});
