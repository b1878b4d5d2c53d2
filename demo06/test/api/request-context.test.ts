import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
/** The X-Request-Id of every request each service received, by service. */
const received: Record<string, (string | undefined)[]> = {};
beforeAll(async () => {
  stage = await startStage();
  for (const [name, service] of Object.entries(stage.running)) {
    received[name] = [];
    service.server.on('request', (req: IncomingMessage) => {
      const id = req.headers['x-request-id'];
      received[name]?.push(typeof id === 'string' ? id : undefined);
    });
  }
});
afterAll(() => stage.stop());

const carts = (path = '') => `${stage.url['shoppingcart-api']}/api/carts${path}`;
/** Who a service says it is: its X-Served-By. */
const servedBy = async (service: keyof TestStage['url']) =>
  (await request('GET', `${stage.url[service]}/health/live`)).headers.get('x-served-by');

describe('a request id that travels', () => {
  it("a checkout's request id is sent on the calls the cart makes, and the answer names who served them", async () => {
    await request('PUT', `${stage.url['inventory-api']}/api/inventory/book/3`, { json: { quantity: 5 } });
    const cartId = (await request('POST', carts())).body.id;
    const added = await request('POST', carts(`/${cartId}/items`), {
      json: { type: 'book', id: 3, quantity: 1 },
      headers: { 'x-request-id': 'add-to-cart-1' },
    });
    expect(added.status).toBe(200);
    expect(received['book-api']).toContain('add-to-cart-1');
    expect(added.headers.get('x-upstream-served-by')).toBe(await servedBy('book-api'));

    const checkout = await request('POST', carts(`/${cartId}/checkout`), {
      headers: { 'x-request-id': 'checkout-1' },
    });
    expect(checkout.status).toBe(201);
    expect(checkout.headers.get('x-request-id')).toBe('checkout-1');
    expect(received['inventory-api']).toContain('checkout-1');
    expect(checkout.headers.get('x-upstream-served-by')).toBe(await servedBy('inventory-api'));
  });

  it('a request without an id is given one, and that one travels', async () => {
    const created = await request('POST', `${stage.url['book-api']}/api/books`, {
      json: { title: 'Dune Messiah', author: 'Frank Herbert', year: 1969, price: 11 },
    });
    expect(created.status).toBe(201);
    const id = created.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(received['number-api']).toContain(id);
    expect(created.headers.get('x-upstream-served-by')).toBe(await servedBy('number-api'));
  });

  it('an answer that needed no other service names no upstream', async () => {
    const cart = await request('POST', carts());
    expect(cart.status).toBe(201);
    expect(cart.headers.get('x-upstream-served-by')).toBeNull();
  });
});
