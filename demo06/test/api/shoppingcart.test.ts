import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const carts = (path = '') => `${stage.url['shoppingcart-api']}/api/carts${path}`;
const stock = (type: string, id: number) => `${stage.url['inventory-api']}/api/inventory/${type}/${id}`;
const setStock = (type: string, id: number, quantity: number) =>
  request('PUT', stock(type, id), { json: { quantity } });
const stockOf = async (type: string, id: number) => (await request('GET', stock(type, id))).body.quantity;
const newCart = async () => (await request('POST', carts())).body.id as number;
const add = (cartId: number, json: unknown) => request('POST', carts(`/${cartId}/items`), { json });

describe('shoppingcart-api carts', () => {
  it('creates an empty open cart', async () => {
    const response = await request('POST', carts());
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.any(Number), status: 'open', items: [], total: 0 });
    expect((await request('GET', carts(`/${response.body.id}`))).body).toEqual(response.body);
  });

  it('answers 404 for an unknown cart, 400 for a bad cart id', async () => {
    expect(isProblem(await request('GET', carts('/99999')), 404)).toBe(true);
    expect(isProblem(await add(99999, { type: 'book', id: 1, quantity: 1 }), 404)).toBe(true);
    expect(isProblem(await request('GET', carts('/first')), 400)).toBe(true);
  });

  it('adds items with title and price from their catalog; adding again adds to the quantity', async () => {
    const id = await newCart();
    const book = (await request('GET', `${stage.url['book-api']}/api/books/2`)).body;
    const dvd = (await request('GET', `${stage.url['dvd-api']}/api/dvds/1`)).body;
    await add(id, { type: 'book', id: 2, quantity: 1 });
    await add(id, { type: 'dvd', id: 1, quantity: 3 });
    const response = await add(id, { type: 'book', id: 2, quantity: 2 });
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([
      {
        type: 'book',
        id: 2,
        title: book.title,
        unitPrice: book.price,
        quantity: 3,
        lineTotal: Math.round(book.price * 300) / 100,
      },
      {
        type: 'dvd',
        id: 1,
        title: dvd.title,
        unitPrice: dvd.price,
        quantity: 3,
        lineTotal: Math.round(dvd.price * 300) / 100,
      },
    ]);
    expect(response.body.total).toBe(Math.round(book.price * 300 + dvd.price * 300) / 100);
  });

  it('refuses an item that does not exist in its catalog with 422, and the cart is unchanged', async () => {
    const id = await newCart();
    const response = await add(id, { type: 'cd', id: 4242, quantity: 1 });
    expect(isProblem(response, 422)).toBe(true);
    expect(response.body.detail).toContain('cd-api');
    expect((await request('GET', carts(`/${id}`))).body.items).toEqual([]);
  });

  it.each([
    ['a quantity of 0', { type: 'book', id: 1, quantity: 0 }],
    ['a quantity of 100', { type: 'book', id: 1, quantity: 100 }],
    ['an unknown type', { type: 'vinyl', id: 1, quantity: 1 }],
    ['a missing id', { type: 'book', quantity: 1 }],
    ['an unknown field', { type: 'book', id: 1, quantity: 1, price: 0.01 }],
  ])('refuses %s with a 400', async (_, json) => {
    const id = await newCart();
    expect(isProblem(await add(id, json), 400)).toBe(true);
    expect((await request('GET', carts(`/${id}`))).body.items).toEqual([]);
  });

  it('removes a line; 404 when the item is not in the cart', async () => {
    const id = await newCart();
    await add(id, { type: 'cd', id: 1, quantity: 1 });
    await add(id, { type: 'book', id: 1, quantity: 1 });
    const response = await request('DELETE', carts(`/${id}/items/cd/1`));
    expect(response.status).toBe(200);
    expect(response.body.items.map((l: { type: string }) => l.type)).toEqual(['book']);
    expect(isProblem(await request('DELETE', carts(`/${id}/items/cd/1`)), 404)).toBe(true);
    expect(isProblem(await request('DELETE', carts(`/${id}/items/tape/1`)), 400)).toBe(true);
  });

  it('answers 503 naming the catalog when it cannot answer, and the cart is unchanged', async () => {
    const isolated = await startStage({ 'cd-api': 'http://127.0.0.1:9' });
    try {
      const cart = (await request('POST', `${isolated.url['shoppingcart-api']}/api/carts`)).body.id;
      const response = await request('POST', `${isolated.url['shoppingcart-api']}/api/carts/${cart}/items`, {
        json: { type: 'cd', id: 1, quantity: 1 },
      });
      expect(isProblem(response, 503)).toBe(true);
      expect(response.body.detail).toContain('cd-api');
      const ready = await request('GET', `${isolated.url['shoppingcart-api']}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.reason).toContain('cd-api');
    } finally {
      await isolated.stop();
    }
  });
});

describe('shoppingcart-api checkout with inventory-api down', () => {
  it('answers 503, and the cart stays open and editable: a refused call cannot have reserved anything', async () => {
    const isolated = await startStage({ 'inventory-api': 'http://127.0.0.1:9' });
    try {
      const cartUrl = (path = '') => `${isolated.url['shoppingcart-api']}/api/carts${path}`;
      const cart = (await request('POST', cartUrl())).body.id;
      await request('POST', cartUrl(`/${cart}/items`), { json: { type: 'book', id: 1, quantity: 1 } });
      const checkout = await request('POST', cartUrl(`/${cart}/checkout`));
      expect(isProblem(checkout, 503)).toBe(true);
      expect(checkout.body.detail).toContain('inventory-api');
      const added = await request('POST', cartUrl(`/${cart}/items`), {
        json: { type: 'book', id: 2, quantity: 1 },
      });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({ status: 'open', items: [{ id: 1 }, { id: 2 }] });
      expect((await request('DELETE', cartUrl(`/${cart}/items/book/1`))).status).toBe(200);
    } finally {
      await isolated.stop();
    }
  });
});

describe('shoppingcart-api checkout', () => {
  it('reserves the items: 201 order, stock goes down, the cart is checked out', async () => {
    await setStock('book', 6, 5);
    const id = await newCart();
    const cart = (await add(id, { type: 'book', id: 6, quantity: 2 })).body;
    const response = await request('POST', carts(`/${id}/checkout`));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      orderId: expect.any(Number),
      cartId: id,
      items: cart.items,
      total: cart.total,
    });
    expect(await stockOf('book', 6)).toBe(3);
    expect((await request('GET', carts(`/${id}`))).body.status).toBe('checked-out');
  });

  it('checking out again returns the same order (200) and reserves nothing more', async () => {
    await setStock('book', 7, 5);
    const id = await newCart();
    await add(id, { type: 'book', id: 7, quantity: 1 });
    const first = await request('POST', carts(`/${id}/checkout`));
    const again = await request('POST', carts(`/${id}/checkout`));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stockOf('book', 7)).toBe(4);
  });

  it('refuses to change a checked-out cart (409)', async () => {
    await setStock('book', 8, 5);
    const id = await newCart();
    await add(id, { type: 'book', id: 8, quantity: 1 });
    await request('POST', carts(`/${id}/checkout`));
    expect(isProblem(await add(id, { type: 'book', id: 8, quantity: 1 }), 409)).toBe(true);
    expect(isProblem(await request('DELETE', carts(`/${id}/items/book/8`)), 409)).toBe(true);
  });

  it('refuses an empty cart (422) and an unknown cart (404)', async () => {
    const id = await newCart();
    expect(isProblem(await request('POST', carts(`/${id}/checkout`)), 422)).toBe(true);
    expect(isProblem(await request('POST', carts('/99999/checkout')), 404)).toBe(true);
  });

  it('answers 409 with the short items when stock is missing; the cart stays open and nothing is reserved', async () => {
    await setStock('dvd', 5, 1);
    await setStock('dvd', 6, 4);
    const id = await newCart();
    await add(id, { type: 'dvd', id: 5, quantity: 2 });
    await add(id, { type: 'dvd', id: 6, quantity: 1 });
    const response = await request('POST', carts(`/${id}/checkout`));
    expect(isProblem(response, 409)).toBe(true);
    expect(response.body.short).toEqual([{ type: 'dvd', id: 5, requested: 2, available: 1 }]);
    expect((await request('GET', carts(`/${id}`))).body.status).toBe('open');
    expect(await stockOf('dvd', 5)).toBe(1);
    expect(await stockOf('dvd', 6)).toBe(4);
    // Fix the cart and it checks out.
    await request('DELETE', carts(`/${id}/items/dvd/5`));
    expect((await request('POST', carts(`/${id}/checkout`))).status).toBe(201);
    expect(await stockOf('dvd', 6)).toBe(3);
  });

  it('40 concurrent checkouts of different carts competing for 10 units of one item sell exactly 10', async () => {
    await setStock('cd', 5, 10);
    const ids = await Promise.all(Array.from({ length: 40 }, () => newCart()));
    await Promise.all(ids.map((id) => add(id, { type: 'cd', id: 5, quantity: 1 })));
    const results = await Promise.all(ids.map((id) => request('POST', carts(`/${id}/checkout`))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(30);
    expect(await stockOf('cd', 5)).toBe(0);
  });
});
