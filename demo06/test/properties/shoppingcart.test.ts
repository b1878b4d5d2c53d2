import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import {
  expectNoServerError,
  expectProblem,
  expectStatus,
  expectValidationProblem,
  readAll,
  send,
  unchanged,
} from './harness.js';

type ItemType = arb.ItemType;
type CatalogItem = { type: ItemType; id: number; title: string; price: number };
type Line = { type: ItemType; id: number; quantity: number };

let stage: TestStage;
/** Every item of the three catalogs: more than a cart may hold different ones of. */
let pool: CatalogItem[];
const collections = { book: 'books', cd: 'cds', dvd: 'dvds' } as const;
const services = { book: 'book-api', cd: 'cd-api', dvd: 'dvd-api' } as const;

beforeAll(async () => {
  stage = await startStage();
  for (let i = 0; i < 30; i++) {
    const book = { title: `Volume ${i}`, author: 'A. Writer', year: 2000 + i, price: (100 + i) / 100 };
    expectStatus(await send(stage.url['book-api'], 'POST', '/api/books', { json: book }), 201);
  }
  pool = [];
  for (const type of arb.contract.itemTypes) {
    const items = await readAll(stage.url[services[type]], `/api/${collections[type]}`);
    pool.push(...items.map((item) => ({ type, id: item.id, title: item.title, price: item.price })));
  }
});
afterAll(() => stage.stop());

const carts = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(stage.url['shoppingcart-api'], method, `/api/carts${path}`, options);
const newCart = async (): Promise<number> => {
  const answer = await carts('POST', '');
  expectStatus(answer, 201);
  return answer.json.id;
};
const readCart = async (id: number) => {
  const answer = await carts('GET', `/${id}`);
  expectStatus(answer, 200);
  return answer.json;
};
const add = (cartId: number, json: unknown) => carts('POST', `/${cartId}/items`, { json });
const inventory = () => readAll(stage.url['inventory-api'], '/api/inventory');
const setStock = async (type: ItemType, id: number, quantity: number) =>
  expectStatus(
    await send(stage.url['inventory-api'], 'PUT', `/api/inventory/${type}/${id}`, { json: { quantity } }),
    200,
  );

const byTypeThenId = (a: { type: string; id: number }, b: { type: string; id: number }) =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.id - b.id;
const same = (a: { type: string; id: number }, b: { type: string; id: number }) =>
  a.type === b.type && a.id === b.id;

/** The cart the contract expects for these lines: title and price from the catalog, totals in cents. */
function expectedCart(id: number, lines: Line[], status = 'open') {
  const items = lines.map((line) => {
    const item = pool.find((p) => same(p, line)) as CatalogItem;
    const cents = Math.round(item.price * 100);
    return { ...line, title: item.title, unitPrice: item.price, lineTotal: (cents * line.quantity) / 100 };
  });
  const cents = items.reduce((sum, l) => sum + Math.round(l.unitPrice * 100) * l.quantity, 0);
  return { id, status, items, total: cents / 100 };
}

/** A cart as compared: its lines in a fixed order (the contract does not order them). */
const normalised = (cart: any) => ({ ...cart, items: [...cart.items].sort(byTypeThenId) });

/** An item of the pool (often one of the first few, so that the same item is added again). */
const poolPick = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat());
const missingItem = fc.record({
  type: arb.itemType,
  id: fc.oneof(
    fc.integer({ min: 5_000, max: 9_999 }),
    arb.bodyId.filter((id) => id > 1_000),
  ),
});

describe('shoppingcart-api carts', () => {
  it('creates an empty open cart for every POST, readable by its id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constant(null), async () => {
        const answer = await carts('POST', '');
        expectStatus(answer, 201);
        expect(answer.json).toEqual({ id: expect.any(Number), status: 'open', items: [], total: 0 });
        expect(await readCart(answer.json.id)).toEqual(answer.json);
      }),
      arb.runs(30),
    );
  });

  it('keeps every cart as the contract says through any adds and removes (50 different items, 99 of one at most)', async () => {
    const action = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('add' as const),
          pick: poolPick,
          quantity: fc.integer({ min: 1, max: 99 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('add missing' as const),
          item: missingItem,
          quantity: fc.integer({ min: 1, max: 99 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: poolPick }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 15 }), async (actions) => {
        const id = await newCart();
        let lines: Line[] = [];
        for (const a of actions) {
          const before = await readCart(id);
          if (a.kind === 'remove') {
            // Mostly an item in the cart; sometimes one that is not.
            const inCart = lines.length > 0 && a.pick % 4 !== 0;
            const target = inCart
              ? (lines[a.pick % lines.length] as Line)
              : (pool[a.pick % pool.length] as CatalogItem);
            const answer = await carts('DELETE', `/${id}/items/${target.type}/${target.id}`);
            if (lines.some((l) => same(l, target))) {
              expectStatus(answer, 200);
              lines = lines.filter((l) => !same(l, target));
              expect(normalised(answer.json)).toEqual(normalised(expectedCart(id, lines)));
            } else {
              expectProblem(answer, 404);
              expect(await readCart(id)).toEqual(before);
            }
            continue;
          }
          if (a.kind === 'add missing') {
            expectProblem(await add(id, { ...a.item, quantity: a.quantity }), 422);
            expect(await readCart(id)).toEqual(before);
            continue;
          }
          const item = pool[a.pick % pool.length] as CatalogItem;
          const answer = await add(id, { type: item.type, id: item.id, quantity: a.quantity });
          const line = lines.find((l) => same(l, item));
          const tooMany = (line?.quantity ?? 0) + a.quantity > arb.contract.cart.maxQuantity;
          const tooManyLines = !line && lines.length >= arb.contract.cart.maxLines;
          if (tooMany || tooManyLines) {
            expectProblem(answer, 422);
            expect(await readCart(id)).toEqual(before);
            continue;
          }
          expectStatus(answer, 200);
          lines = line
            ? lines.map((l) => (same(l, item) ? { ...l, quantity: l.quantity + a.quantity } : l))
            : [...lines, { type: item.type, id: item.id, quantity: a.quantity }];
          expect(normalised(answer.json)).toEqual(normalised(expectedCart(id, lines)));
        }
        expect(normalised(await readCart(id))).toEqual(normalised(expectedCart(id, lines)));
      }),
      arb.runs(60),
    );
  });

  it('holds at most 50 different items: the 51st is refused with a 422 and the cart stays as it was', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(
          pool.map((_, i) => i),
          { minLength: 51, maxLength: 51 },
        ),
        fc.integer({ min: 1, max: 99 }),
        async (picks, quantity) => {
          const id = await newCart();
          for (const i of picks.slice(0, 50)) {
            const item = pool[i] as CatalogItem;
            expectStatus(await add(id, { type: item.type, id: item.id, quantity }), 200);
          }
          const full = await readCart(id);
          expect(full.items).toHaveLength(arb.contract.cart.maxLines);
          const extra = pool[picks[50] as number] as CatalogItem;
          expectProblem(await add(id, { type: extra.type, id: extra.id, quantity }), 422);
          expect(await readCart(id)).toEqual(full);
        },
      ),
      arb.runs(5),
    );
  });

  it('holds at most 99 of one item: an add past 99 is refused with a 422 and the cart stays as it was', async () => {
    const quantities = fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 2, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(poolPick, quantities, async (pick, adds) => {
        const id = await newCart();
        const item = pool[pick % pool.length] as CatalogItem;
        let held = 0;
        for (const quantity of adds) {
          const before = await readCart(id);
          const answer = await add(id, { type: item.type, id: item.id, quantity });
          if (held + quantity > arb.contract.cart.maxQuantity) {
            expectProblem(answer, 422);
            expect(await readCart(id)).toEqual(before);
          } else {
            expectStatus(answer, 200);
            held += quantity;
            expect(answer.json.items).toEqual([
              expect.objectContaining({ type: item.type, id: item.id, quantity: held }),
            ]);
          }
        }
      }),
      arb.runs(100),
    );
  });

  it('refuses every forbidden item body with a 400, and the cart stays as it was', async () => {
    const id = await newCart();
    const item = pool[0] as CatalogItem;
    expectStatus(await add(id, { type: item.type, id: item.id, quantity: 1 }), 200);
    await fc.assert(
      fc.asyncProperty(arb.forbiddenBody(arb.cartItemSpecs), async ({ body }) => {
        await unchanged(
          () => readCart(id),
          async () => expectValidationProblem(await add(id, body)),
        );
      }),
      arb.runs(100),
    );
  });

  it('refuses a cart id that is not a positive integer (400) and answers 404 for one it does not hold, on every cart route; nothing changes', async () => {
    const reference = await newCart();
    const item = pool[1] as CatalogItem;
    expectStatus(await add(reference, { type: item.type, id: item.id, quantity: 2 }), 200);
    const routes = fc.constantFrom(
      ['GET', ''],
      ['POST', '/items'],
      ['DELETE', `/items/${item.type}/${item.id}`],
      ['POST', '/checkout'],
    );
    const cartId = fc.oneof(
      arb.invalidIdText.map((text) => ({ text, valid: false })),
      // Far beyond the carts this file creates.
      fc.integer({ min: 1_000_000, max: 999_999_999_999_999 }).map((n) => ({ text: String(n), valid: true })),
    );
    const state = async () => ({ cart: await readCart(reference), stock: await inventory() });
    await fc.assert(
      fc.asyncProperty(cartId, routes, async (cart, [method, suffix]) => {
        await unchanged(state, async () => {
          const answer = await carts(method as string, `/${arb.pct(cart.text)}${suffix}`, {
            ...(suffix === '/items' && { json: { type: item.type, id: item.id, quantity: 1 } }),
          });
          expectProblem(answer, cart.valid ? 404 : 400);
        });
      }),
      arb.runs(100),
    );
  });

  it('removes nothing for a bad type or item id (400) or an item not in the cart (404)', async () => {
    const id = await newCart();
    const item = pool[2] as CatalogItem;
    expectStatus(await add(id, { type: item.type, id: item.id, quantity: 3 }), 200);
    const target = fc.oneof(
      fc.tuple(arb.anyTypeSegment, arb.validId.map(String)),
      fc.tuple(arb.itemType, arb.invalidIdText),
      fc.tuple(arb.itemType, arb.validId.map(String)),
    );
    await fc.assert(
      fc.asyncProperty(target, async ([type, itemId]) => {
        const validType = (arb.contract.itemTypes as readonly string[]).includes(type);
        fc.pre(type !== '' && !(type === item.type && itemId === String(item.id)));
        await unchanged(
          () => readCart(id),
          async () => {
            const answer = await carts('DELETE', `/${id}/items/${arb.pct(type)}/${arb.pct(itemId)}`);
            expectProblem(answer, validType && !arb.clearlyNotAnId(itemId) ? 404 : 400);
          },
        );
      }),
      arb.runs(100),
    );
  });
});

describe('shoppingcart-api checkout', () => {
  const content = fc.array(
    fc.record({
      pick: fc.nat(),
      quantity: fc.integer({ min: 1, max: 5 }),
      stock: fc.integer({ min: 0, max: 7 }),
    }),
    { minLength: 1, maxLength: 4 },
  );

  it('checks out every cart all or nothing: 201 and the stock taken, or 409 with the short items and nothing taken; a second checkout answers the same order', async () => {
    await fc.assert(
      fc.asyncProperty(content, async (wanted) => {
        const id = await newCart();
        // Seeded items of every type, with stock set for this run.
        const seeded = pool.filter((p) => p.id <= 9);
        const lines = wanted.map((w) => {
          const item = seeded[w.pick % seeded.length] as CatalogItem;
          return { type: item.type, id: item.id, quantity: w.quantity, stock: w.stock };
        });
        const unique = lines.filter((l, i) => lines.findIndex((o) => same(o, l)) === i);
        for (const l of unique) {
          await setStock(l.type, l.id, l.stock);
          expectStatus(await add(id, { type: l.type, id: l.id, quantity: l.quantity }), 200);
        }
        const cart = await readCart(id);
        const before = await inventory();
        const answer = await carts('POST', `/${id}/checkout`);
        const short = unique.filter((l) => l.stock < l.quantity);
        if (short.length > 0) {
          expectProblem(answer, 409);
          expect([...answer.json.short].sort(byTypeThenId)).toEqual(
            short
              .map((l) => ({ type: l.type, id: l.id, requested: l.quantity, available: l.stock }))
              .sort(byTypeThenId),
          );
          expect(await readCart(id)).toEqual(cart); // still open, as it was
          expect(await inventory()).toEqual(before);
          return;
        }
        expectStatus(answer, 201);
        expect(answer.json).toMatchObject({
          orderId: expect.any(Number),
          cartId: id,
          items: cart.items,
          total: cart.total,
        });
        const taken = (r: { type: string; id: number }) => unique.find((l) => same(l, r))?.quantity ?? 0;
        const after = await inventory();
        expect(after).toEqual(before.map((r: any) => ({ ...r, quantity: r.quantity - taken(r) })));
        expect(await readCart(id)).toEqual({ ...cart, status: 'checked-out' });
        const again = await carts('POST', `/${id}/checkout`);
        expectStatus(again, 200);
        expect(again.json).toEqual(answer.json);
        // A checked-out cart refuses every change (409) and stays as it was.
        const item = unique[0] as Line;
        expectProblem(await add(id, { type: item.type, id: item.id, quantity: 1 }), 409);
        expectProblem(await carts('DELETE', `/${id}/items/${item.type}/${item.id}`), 409);
        expect(await readCart(id)).toEqual({ ...cart, status: 'checked-out' });
        expect(await inventory()).toEqual(after);
      }),
      arb.runs(60),
    );
  });

  it('refuses to check out an empty cart (422), reserving nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constant(null), async () => {
        const id = await newCart();
        await unchanged(inventory, async () => expectProblem(await carts('POST', `/${id}/checkout`), 422));
        expect((await readCart(id)).status).toBe('open');
      }),
      arb.runs(10),
    );
  });
});

describe('shoppingcart-api, any request', () => {
  it('never answers with a 5xx or a closed connection', async () => {
    const id = await newCart();
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    const segment = fc.oneof(fc.constant(String(id)), arb.anySegment);
    const path = fc.oneof(
      arb.anyQuery.map((query) => `?${query}`),
      segment.map((s) => `/${s}`),
      fc.tuple(segment, fc.constantFrom('items', 'checkout')).map(([s, what]) => `/${s}/${what}`),
      fc
        .tuple(segment, arb.anyTypeSegment, arb.anySegment)
        .map(([s, t, i]) => `/${s}/items/${arb.pct(t)}/${i}`),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc
        .record({ type: arb.itemType, id: arb.bodyId, quantity: fc.integer({ min: 1, max: 99 }) })
        .map((json) => JSON.stringify(json)),
      fc.jsonValue({ maxDepth: 2 }).map((json) => JSON.stringify(json)),
      arb.malformedJson,
    );
    await fc.assert(
      fc.asyncProperty(methods, path, body, arb.anyContentType, async (method, url, payload, type) => {
        const answer = await carts(method, url, {
          body: payload,
          headers: { 'content-type': payload === undefined ? undefined : type },
        });
        if (method === 'HEAD') expect(answer.status).toBeLessThan(500);
        else expectNoServerError(answer);
      }),
      arb.runs(100),
    );
  });

  it('refuses an item that no catalog holds with a 422, whatever its id', async () => {
    const id = await newCart();
    await fc.assert(
      fc.asyncProperty(missingItem, fc.integer({ min: 1, max: 99 }), async (item, quantity) => {
        await unchanged(
          () => readCart(id),
          async () => expectProblem(await add(id, { ...item, quantity }), 422),
        );
      }),
      arb.runs(100),
    );
  });
});
