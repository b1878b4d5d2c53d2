import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { books } from '../../src/services/book-api/definition.js';
import { cds } from '../../src/services/cd-api/definition.js';
import { dvds } from '../../src/services/dvd-api/definition.js';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import { expectProblem, expectStatus, readAll, send, unchanged, type Answer } from './harness.js';

/**
 * The bounds of docs/API.md ("Limits"), made small so that each can be reached: every store is filled through
 * the API until it answers 507, then every request that would grow it further must be refused and change nothing.
 */
const cartRuns = arb.runs(20);
const bounds = {
  CATALOG_MAX_ITEMS: 30,
  INVENTORY_MAX_RECORDS: 50,
  CART_MAX_OPEN: 10,
  // Room for every checkout of the cart property, and 20 more.
  RESERVATION_MAX_KEPT: cartRuns.numRuns + 20,
};

let stage: TestStage;
beforeAll(async () => {
  const env = Object.fromEntries(Object.entries(bounds).map(([name, value]) => [name, String(value)]));
  stage = await startStage({}, env);
});
afterAll(() => stage.stop());

/** Sends `next(i)` for i = 0, 1, … until one answers 507 (every other answer must be `ok`); returns that 507. */
async function fillUntilFull(next: (i: number) => Promise<Answer>, ok: number): Promise<Answer> {
  for (let i = 0; i < 1_000; i++) {
    const answer = await next(i);
    if (answer.status === 507) return answer;
    expectStatus(answer, ok);
  }
  throw new Error('still not full after 1 000 requests');
}

/** A 507 problem+json that states the bound in `limit`. */
function expectFull(answer: Answer, limit: number): void {
  expectProblem(answer, 507);
  expect(answer.json.limit).toBe(limit);
}

const catalogs = [books, cds, dvds].map((definition) => ({
  definition,
  service: `${definition.type}-api` as const,
  specs: arb.fieldSpecs(definition.fields),
}));

describe.each(catalogs)('a full catalog ($service)', ({ definition, service, specs }) => {
  const url = () => stage.url[service];
  const path = `/api/${definition.collection}`;
  const all = () => readAll(url(), path);
  const limit = bounds.CATALOG_MAX_ITEMS;

  it('refuses every valid create with a 507 naming its bound, and creates nothing', async () => {
    const filler = { ...definition.fixtures[0] };
    expectFull(await fillUntilFull(() => send(url(), 'POST', path, { json: filler }), 201), limit);
    expect(await all()).toHaveLength(limit);
    await fc.assert(
      fc.asyncProperty(arb.validBody(specs), async (body) => {
        await unchanged(all, async () => expectFull(await send(url(), 'POST', path, { json: body }), limit));
      }),
      arb.runs(100),
    );
  });

  it('refuses every forbidden body with a 400 or a 507, and creates nothing', async () => {
    await fc.assert(
      fc.asyncProperty(arb.forbiddenBody(specs), async ({ body }) => {
        await unchanged(all, async () => {
          const answer = await send(url(), 'POST', path, { json: body });
          if (answer.status === 507) expectFull(answer, limit);
          else expectProblem(answer, 400);
        });
      }),
      arb.runs(100),
    );
  });

  it('has room for exactly one more item after any delete', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), arb.validBody(specs), async (pick, body) => {
        // Never a seeded item (ids 1 to the number of fixtures): the carts below add those.
        const fillers = (await all()).filter((item) => item.id > definition.fixtures.length);
        const victim = fillers[pick % fillers.length] as { id: number };
        expectStatus(await send(url(), 'DELETE', `${path}/${victim.id}`), 204);
        const created = await send(url(), 'POST', path, { json: body });
        expectStatus(created, 201);
        expect((await send(url(), 'GET', `${path}/${created.json.id}`)).json).toEqual(created.json);
        await unchanged(all, async () => expectFull(await send(url(), 'POST', path, { json: body }), limit));
      }),
      arb.runs(30),
    );
  });
});

describe('a full inventory', () => {
  const url = () => stage.url['inventory-api'];
  const all = () => readAll(url(), '/api/inventory');
  const limit = bounds.INVENTORY_MAX_RECORDS;
  /** Ids no catalog holds, so the records made to fill the inventory are all new. */
  const unheldId = fc.integer({ min: 1_000_000, max: 999_999_999_999_999 });

  it('refuses every new stock record with a 507 and changes nothing; existing records are still replaced', async () => {
    const types = arb.contract.itemTypes;
    const filler = (i: number) => `/api/inventory/${types[i % 3]}/${1_000 + i}`;
    const full = await fillUntilFull((i) => send(url(), 'PUT', filler(i), { json: { quantity: 1 } }), 200);
    expectFull(full, limit);
    expect(await all()).toHaveLength(limit);
    await fc.assert(
      fc.asyncProperty(
        arb.itemType,
        unheldId,
        fc.integer(arb.contract.stock),
        fc.nat(),
        async (type, id, quantity, pick) => {
          await unchanged(all, async () => {
            expectFull(
              await send(url(), 'PUT', `/api/inventory/${type}/${id}`, { json: { quantity } }),
              limit,
            );
            expectProblem(await send(url(), 'GET', `/api/inventory/${type}/${id}`), 404);
          });
          const records = await all();
          const existing = records[pick % records.length] as { type: string; id: number };
          const replaced = await send(url(), 'PUT', `/api/inventory/${existing.type}/${existing.id}`, {
            json: { quantity },
          });
          expectStatus(replaced, 200);
          expect(await all()).toEqual(records.map((r) => (r === existing ? { ...existing, quantity } : r)));
        },
      ),
      arb.runs(100),
    );
  });
});

describe('too many open carts', () => {
  const url = () => stage.url['shoppingcart-api'];
  const limit = bounds.CART_MAX_OPEN;
  const open: number[] = [];

  it('refuses every new cart with a 507; checking one out makes room for exactly one', async () => {
    const full = await fillUntilFull(async () => {
      const answer = await send(url(), 'POST', '/api/carts');
      if (answer.status === 201) open.push(answer.json.id);
      return answer;
    }, 201);
    expectFull(full, limit);
    expect(open).toHaveLength(limit);
    await fc.assert(
      fc.asyncProperty(arb.itemType, fc.nat(), async (type, pick) => {
        expectFull(await send(url(), 'POST', '/api/carts'), limit);
        const [id] = open.splice(pick % open.length, 1) as [number];
        // A seeded item: in its catalog, with a stock record.
        const itemId = 1;
        const stock = `/api/inventory/${type}/${itemId}`;
        expectStatus(await send(stage.url['inventory-api'], 'PUT', stock, { json: { quantity: 5 } }), 200);
        const line = { type, id: itemId, quantity: 1 };
        expectStatus(await send(url(), 'POST', `/api/carts/${id}/items`, { json: line }), 200);
        expectStatus(await send(url(), 'POST', `/api/carts/${id}/checkout`), 201);
        const room = await send(url(), 'POST', '/api/carts');
        expectStatus(room, 201);
        open.push(room.json.id);
        expectFull(await send(url(), 'POST', '/api/carts'), limit);
      }),
      cartRuns,
    );
  });
});

describe('too many remembered reservations', () => {
  const url = () => stage.url['inventory-api'];
  const all = () => readAll(url(), '/api/inventory');
  const limit = bounds.RESERVATION_MAX_KEPT;
  const reserve = (key: string, items: unknown) =>
    send(url(), 'POST', '/api/inventory/reservations', {
      json: { items },
      headers: { 'idempotency-key': key },
    });
  const one = [{ type: 'dvd', id: 1, quantity: 1 }];

  it('refuses every reservation under a new key with a 507 and takes no stock; a kept key still answers its first answer', async () => {
    // Plenty of every item reserved below, so that the bound is the only reason to refuse.
    for (const type of arb.contract.itemTypes) {
      for (let id = 1; id <= 9; id++) {
        const plenty = { json: { quantity: arb.contract.stock.max } };
        expectStatus(await send(url(), 'PUT', `/api/inventory/${type}/${id}`, plenty), 200);
      }
    }
    const kept: { key: string; answer: unknown }[] = [];
    const full = await fillUntilFull(async (i) => {
      const answer = await reserve(`fill-${i}`, one);
      if (answer.status === 201) kept.push({ key: `fill-${i}`, answer: answer.json });
      return answer;
    }, 201);
    expectFull(full, limit);
    const items = fc.array(
      fc.record({
        type: arb.itemType,
        id: fc.integer({ min: 1, max: 9 }),
        quantity: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 5 },
    );
    await fc.assert(
      fc.asyncProperty(arb.validIdempotencyKey, items, fc.nat(), async (key, lines, pick) => {
        fc.pre(!key.startsWith('fill-'));
        await unchanged(all, async () => {
          expectFull(await reserve(key, lines), limit);
          const earlier = kept[pick % kept.length] as { key: string; answer: unknown };
          const replay = await reserve(earlier.key, one);
          expectStatus(replay, 200);
          expect(replay.json).toEqual(earlier.answer);
        });
      }),
      arb.runs(100),
    );
  });
});
