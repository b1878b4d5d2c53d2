import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayProxy } from '../support/delay-proxy.js';
import { isProblem, request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

/** shoppingcart-api reaches inventory-api through a proxy that can hold answers back. */
let stage: TestStage;
const toInventory = new DelayProxy();
beforeAll(async () => {
  const proxyUrl = await toInventory.start();
  stage = await startStage({ 'inventory-api': proxyUrl });
  toInventory.target = stage.url['inventory-api'];
});
afterAll(async () => {
  await stage.stop();
  await toInventory.stop();
});

const carts = (path = '') => `${stage.url['shoppingcart-api']}/api/carts${path}`;
const stock = (type: string, id: number) => `${stage.url['inventory-api']}/api/inventory/${type}/${id}`;
const stockOf = async (type: string, id: number) => (await request('GET', stock(type, id))).body.quantity;
const reservations = () => toInventory.seen.filter((line) => line.includes('/reservations')).length;

async function cartWith(type: string, id: number, quantity: number): Promise<number> {
  await request('PUT', stock(type, id), { json: { quantity: 5 } });
  const cartId = (await request('POST', carts())).body.id;
  await request('POST', carts(`/${cartId}/items`), { json: { type, id, quantity } });
  return cartId;
}

describe('a checkout whose answer is lost', () => {
  it('the client times out and retries: the retry gets the same order and stock is reserved once', async () => {
    const cartId = await cartWith('book', 9, 2);
    toInventory.delayMs = 600; // slower than the client is willing to wait, faster than the cart's call timeout
    await expect(request('POST', carts(`/${cartId}/checkout`), { timeoutMs: 100 })).rejects.toThrow(
      /timeout|abort/i,
    );
    const retry = await request('POST', carts(`/${cartId}/checkout`));
    toInventory.delayMs = 0;
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ cartId, orderId: expect.any(Number) });
    const later = await request('POST', carts(`/${cartId}/checkout`));
    expect(later.body).toEqual(retry.body);
    expect(await stockOf('book', 9)).toBe(3);
  });

  it('inventory answered but the cart timed out: 503, the cart is held, and the retry reserves nothing more', async () => {
    const cartId = await cartWith('cd', 6, 1);
    const sentBefore = reservations();
    toInventory.delayMs = 1500; // longer than the cart's 1000 ms call timeout: the reservation happens, its answer is lost
    const lost = await request('POST', carts(`/${cartId}/checkout`));
    expect(isProblem(lost, 503)).toBe(true);
    expect(lost.body.detail).toContain('inventory-api');
    expect(await stockOf('cd', 6)).toBe(4); // reserved, though the cart does not know it yet
    // Until the outcome is known, the cart's content must stay what was sent.
    const change = await request('POST', carts(`/${cartId}/items`), {
      json: { type: 'cd', id: 6, quantity: 1 },
    });
    expect(isProblem(change, 409)).toBe(true);

    toInventory.delayMs = 0;
    const retry = await request('POST', carts(`/${cartId}/checkout`));
    expect(retry.status).toBe(201);
    expect(await stockOf('cd', 6)).toBe(4);
    expect(reservations() - sentBefore).toBe(2); // the same key sent twice, answered once
  });
});
