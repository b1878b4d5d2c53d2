import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { books } from '../../src/services/book-api/definition.js';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import { expectProblem, expectStatus, readAll, send, type Answer } from './harness.js';

/**
 * The bounds of docs/API.md ("Limits") at their default values: each store is filled through the API until it
 * answers 507, then every further request that would grow it must be refused and change nothing.
 */

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

/** Sends `next(i)` for i = 0, 1, … (32 at a time) until one answers 507; fails on anything but `ok` or 507. */
async function fillUntilFull(
  next: (i: number) => Promise<Answer>,
  ok: number,
  most: number,
): Promise<Answer> {
  for (let start = 0; start < most; start += 32) {
    const answers = await Promise.all(Array.from({ length: 32 }, (_, k) => next(start + k)));
    for (const answer of answers) {
      if (answer.status !== ok && answer.status !== 507) expectStatus(answer, ok);
    }
    const full = answers.find((a) => a.status === 507);
    if (full) return full;
  }
  throw new Error(`still not full after ${most} requests`);
}

/** A 507 problem+json that states the bound in `limit`. */
function expectFull(answer: Answer): void {
  expectProblem(answer, 507);
  expect(answer.json.limit).toEqual(expect.any(Number));
}

describe('a full catalog', () => {
  const specs = arb.fieldSpecs(books.fields);
  const url = () => stage.url['book-api'];
  const lastId = async () => {
    let id = 0;
    for (let answer = await send(url(), 'GET', '/api/books?limit=100'); ;) {
      const page = answer.json as { id: number }[];
      if (page.length === 0) return id;
      id = page.at(-1)?.id ?? id;
      answer = await send(url(), 'GET', `/api/books?after=${id}&limit=100`);
    }
  };

  it('refuses every valid create with a 507 naming its bound, and creates nothing', async () => {
    const valid = { title: 'Filler', author: 'A. Writer', year: 2000, price: 1 };
    expectFull(await fillUntilFull(() => send(url(), 'POST', '/api/books', { json: valid }), 201, 20_000));
    const before = await readAll(url(), '/api/books');
    const last = await lastId();
    await fc.assert(
      fc.asyncProperty(arb.validBody(specs), async (body) => {
        expectFull(await send(url(), 'POST', '/api/books', { json: body }));
        expect((await send(url(), 'GET', `/api/books?after=${last}`)).json).toEqual([]);
      }),
      arb.runs(50),
    );
    expect(await readAll(url(), '/api/books')).toEqual(before);
  });

  it('refuses a forbidden body when full with a 4xx or 507, and creates nothing', async () => {
    const last = await lastId();
    await fc.assert(
      fc.asyncProperty(arb.forbiddenBody(specs), async ({ body }) => {
        const answer = await send(url(), 'POST', '/api/books', { json: body });
        if (answer.status === 507) expectFull(answer);
        else expectProblem(answer, 400);
        expect((await send(url(), 'GET', `/api/books?after=${last}`)).json).toEqual([]);
      }),
      arb.runs(30),
    );
  });

  it('has room for exactly one more item after a delete', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), arb.validBody(specs), async (pick, body) => {
        // A filler, never a seeded item: the carts below add seeded ones.
        const page = (await send(url(), 'GET', `/api/books?after=1000&limit=100`)).json as { id: number }[];
        const victim = page[pick % page.length] as { id: number };
        expectStatus(await send(url(), 'DELETE', `/api/books/${victim.id}`), 204);
        const created = await send(url(), 'POST', '/api/books', { json: body });
        expectStatus(created, 201);
        expect((await send(url(), 'GET', `/api/books/${created.json.id}`)).json).toEqual(created.json);
        expectFull(await send(url(), 'POST', '/api/books', { json: body }));
      }),
      arb.runs(10),
    );
  });
});

describe('a full inventory', () => {
  const url = () => stage.url['inventory-api'];
  const types = arb.contract.itemTypes;
  // Ids far above any catalog's, so filling never touches a record another property reads.
  const fillerPath = (i: number) => `/api/inventory/${types[i % 3]}/${1_000_000 + Math.floor(i / 3)}`;

  it('refuses every new stock record with a 507, and keeps replacing existing ones', async () => {
    expectFull(
      await fillUntilFull((i) => send(url(), 'PUT', fillerPath(i), { json: { quantity: 1 } }), 200, 40_000),
    );
    const count = (await readAll(url(), '/api/inventory')).length;
    await fc.assert(
      fc.asyncProperty(
        arb.itemType,
        fc.integer({ min: 2_000_000, max: 999_999_999_999_999 }),
        fc.integer(arb.contract.stock),
        async (type, id, quantity) => {
          expectFull(await send(url(), 'PUT', `/api/inventory/${type}/${id}`, { json: { quantity } }));
          expectProblem(await send(url(), 'GET', `/api/inventory/${type}/${id}`), 404);
          const replaced = await send(url(), 'PUT', `/api/inventory/${type}/1`, { json: { quantity } });
          expectStatus(replaced, 200);
          expect(replaced.json).toEqual({ type, id: 1, quantity });
        },
      ),
      arb.runs(50),
    );
    expect((await readAll(url(), '/api/inventory')).length).toBe(count);
  });
});

describe('too many open carts', () => {
  const url = () => stage.url['shoppingcart-api'];

  it('refuses every new cart with a 507; a checkout makes room for one', async () => {
    expectFull(await fillUntilFull(() => send(url(), 'POST', '/api/carts'), 201, 20_000));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<arb.ItemType>('book', 'cd', 'dvd'), async (type) => {
        expectFull(await send(url(), 'POST', '/api/carts'));
        // Check out an open cart: one open cart fewer.
        const id = await openCart();
        if (id === undefined) throw new Error('no open cart left');
        expectStatus(
          await send(stage.url['inventory-api'], 'PUT', `/api/inventory/${type}/3`, {
            json: { quantity: 5 },
          }),
          200,
        );
        expectStatus(
          await send(url(), 'POST', `/api/carts/${id}/items`, { json: { type, id: 3, quantity: 1 } }),
          200,
        );
        expectStatus(await send(url(), 'POST', `/api/carts/${id}/checkout`), 201);
        expectStatus(await send(url(), 'POST', '/api/carts'), 201);
        expectFull(await send(url(), 'POST', '/api/carts'));
      }),
      arb.runs(10),
    );
  });

  let probe = 1;
  /** The next open cart by id, from the oldest. */
  async function openCart(): Promise<number | undefined> {
    for (; probe < 1_000_000; probe++) {
      const cart = await send(url(), 'GET', `/api/carts/${probe}`);
      if (cart.status === 200 && cart.json.status === 'open') return probe++;
    }
    return undefined;
  }
});
