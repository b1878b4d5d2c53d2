import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/lib/config.js';
import { HttpProblem } from '../../src/lib/problem.js';
import { CartStore, maxLinesPerCart } from '../../src/services/shoppingcart-api/store.js';

const limits = loadConfig('shoppingcart-api', {}).limits;
const book = (id: number) => ({ type: 'book' as const, id, title: `Book ${id}`, price: 1.5 });
const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof HttpProblem ? err.status : err;
  }
  return 'no error';
};

describe('CartStore bounds', () => {
  it('drops an open cart left idle for the TTL; using it keeps it alive', () => {
    let now = 0;
    const store = new CartStore({ ...limits, cartIdleTtlSeconds: 60 }, () => now);
    const idle = store.create().id;
    const used = store.create().id;
    now = 40_000;
    store.get(used);
    now = 70_000;
    expect(store.get(idle)).toBeUndefined();
    expect(store.get(used)).toBeDefined();
    now = 130_000; // 60 s after the last use
    expect(store.get(used)).toBeUndefined();
  });

  it('refuses a new cart with 507 when the open carts are at their cap, and takes one again once one expired', () => {
    let now = 0;
    const store = new CartStore({ ...limits, cartMaxOpen: 2, cartIdleTtlSeconds: 60 }, () => now);
    store.create();
    store.create();
    expect(status(() => store.create())).toBe(507);
    now = 61_000;
    expect(store.create().id).toBe(3);
  });

  it('keeps checked-out carts and their orders up to a cap, the oldest dropped first; they never expire', () => {
    let now = 0;
    const store = new CartStore({ ...limits, cartMaxCheckedOut: 2, cartIdleTtlSeconds: 60 }, () => now);
    const ids = [1, 2, 3].map(() => {
      const cart = store.get(store.create().id)!;
      store.addLine(cart, book(1), 1);
      store.placeOrder(cart, 100 + cart.id);
      return cart.id;
    });
    now = 1_000_000;
    expect(store.get(ids[0]!)).toBeUndefined();
    expect(store.get(ids[1]!)?.order?.reservationId).toBe(102);
    expect(store.get(ids[2]!)?.order?.reservationId).toBe(103);
  });

  it('holds at most 50 different items and 99 of one item (422), and stays as it was', () => {
    const store = new CartStore(limits);
    const cart = store.get(store.create().id)!;
    for (let id = 1; id <= maxLinesPerCart; id++) store.addLine(cart, book(id), 1);
    expect(status(() => store.addLine(cart, book(51), 1))).toBe(422);
    store.addLine(cart, book(1), 98);
    expect(status(() => store.addLine(cart, book(1), 1))).toBe(422);
    const view = store.view(cart);
    expect(view.items).toHaveLength(50);
    expect(view.items[0]?.quantity).toBe(99);
  });
});
