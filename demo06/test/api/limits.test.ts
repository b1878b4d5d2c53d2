import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, request } from '../support/http.js';
import { readAllPages } from '../support/pages.js';
import { startStage, type TestStage } from '../support/stage.js';

/** The stage with small bounds, so that each one can be reached: one more book, one more stock record, two carts. */
let stage: TestStage;
beforeAll(async () => {
  stage = await startStage({}, { CATALOG_MAX_ITEMS: '11', INVENTORY_MAX_RECORDS: '29', CART_MAX_OPEN: '2' });
});
afterAll(() => stage.stop());

const book = { title: 'One Too Many', author: 'A. Writer', year: 2001, price: 1 };

describe('bounds, as a client meets them', () => {
  it('a full catalog answers 507 and creates nothing; a delete makes room again', async () => {
    const books = `${stage.url['book-api']}/api/books`;
    expect((await request('POST', books, { json: book })).status).toBe(201);
    const full = await request('POST', books, { json: book });
    expect(isProblem(full, 507)).toBe(true);
    expect(full.body).toMatchObject({ limit: 11, detail: expect.stringContaining('full') });
    expect(await readAllPages(books)).toHaveLength(11);
    expect((await request('DELETE', `${books}/11`)).status).toBe(204);
    expect((await request('POST', books, { json: book })).status).toBe(201);
  });

  it('inventory refuses a new stock record past its bound with 507, and still replaces existing ones', async () => {
    const stock = (path: string) => `${stage.url['inventory-api']}/api/inventory/${path}`;
    expect((await request('PUT', stock('book/11'), { json: { quantity: 1 } })).status).toBe(200);
    expect(isProblem(await request('PUT', stock('book/12'), { json: { quantity: 1 } }), 507)).toBe(true);
    expect(isProblem(await request('GET', stock('book/12')), 404)).toBe(true);
    expect((await request('PUT', stock('book/1'), { json: { quantity: 7 } })).body.quantity).toBe(7);
  });

  it('a third open cart is refused with 507; checking one out makes room', async () => {
    const carts = `${stage.url['shoppingcart-api']}/api/carts`;
    const first = (await request('POST', carts)).body.id;
    expect((await request('POST', carts)).status).toBe(201);
    expect(isProblem(await request('POST', carts), 507)).toBe(true);
    await request('POST', `${carts}/${first}/items`, { json: { type: 'book', id: 1, quantity: 1 } });
    expect((await request('POST', `${carts}/${first}/checkout`)).status).toBe(201);
    expect((await request('POST', carts)).status).toBe(201);
    expect((await request('GET', `${carts}/${first}`)).body.status).toBe('checked-out');
  });
});
