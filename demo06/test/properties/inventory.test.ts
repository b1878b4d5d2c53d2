import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import {
  expectNoServerError,
  expectProblem,
  expectStatus,
  expectValidationProblem,
  nextLink,
  readAll,
  send,
  unchanged,
} from './harness.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

type StockRecord = { type: arb.ItemType; id: number; quantity: number };
type Line = { type: arb.ItemType; id: number; quantity: number };

const call = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(stage.url['inventory-api'], method, `/api/inventory${path}`, options);
const all = () => readAll<StockRecord>(stage.url['inventory-api'], '/api/inventory');
const byTypeThenId = (a: { type: string; id: number }, b: { type: string; id: number }) =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.id - b.id;
const keyOf = (r: { type: string; id: number }) => `${r.type}:${r.id}`;

/** Ids the properties write stock for: few, so the inventory stays small and records get replaced. */
const stockedId = fc.integer({ min: 1, max: 30 });
/** A valid quantity of stock. */
const quantity = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 1, arbitrary: fc.integer(arb.contract.stock) },
  { weight: 1, arbitrary: fc.constantFrom(arb.contract.stock.min, arb.contract.stock.max) },
);

describe('inventory-api stock records', () => {
  it('gets a record by type and id: as listed, 404 without one, 400 for a bad type or id; never a 5xx', async () => {
    const typeSegment = arb.anyTypeSegment;
    const idSegment = fc.oneof(
      arb.validId.map((id) => ({ text: String(id), class: 'valid' as const })),
      arb.invalidIdText.map((id) => ({ text: id, class: 'invalid' as const })),
      arb.unclearIdText.map((id) => ({ text: id, class: 'unclear' as const })),
    );
    await fc.assert(
      fc.asyncProperty(typeSegment, idSegment, async (type, id) => {
        const records = await all();
        const answer = await call('GET', `/${arb.pct(type)}/${arb.pct(id.text)}`);
        const validType = (arb.contract.itemTypes as readonly string[]).includes(type);
        // An empty type matches no route: a 404.
        if (type === '') expectProblem(answer);
        else if (!validType || id.class === 'invalid') expectProblem(answer, 400);
        else if (id.class === 'unclear') expectNoServerError(answer);
        else {
          const record = records.find((r) => r.type === type && r.id === Number(id.text));
          if (record) expect(answer.json).toEqual(record);
          else expectProblem(answer, 404);
        }
        expect(await all()).toEqual(records);
      }),
      arb.runs(100),
    );
  });

  it('creates or replaces a record with every valid PUT, visible in the record and the list', async () => {
    await fc.assert(
      fc.asyncProperty(arb.itemType, stockedId, quantity, async (type, id, amount) => {
        const before = await all();
        const answer = await call('PUT', `/${type}/${id}`, { json: { quantity: amount } });
        expectStatus(answer, 200);
        const record = { type, id, quantity: amount };
        expect(answer.json).toEqual(record);
        expect((await call('GET', `/${type}/${id}`)).json).toEqual(record);
        const others = before.filter((r) => keyOf(r) !== keyOf(record));
        expect(await all()).toEqual([...others, record].sort(byTypeThenId));
      }),
      arb.runs(100),
    );
  });

  it('refuses every forbidden stock body with a 400, and changes no record', async () => {
    await fc.assert(
      fc.asyncProperty(
        arb.itemType,
        stockedId,
        arb.forbiddenBody(arb.stockSpecs),
        async (type, id, { body }) => {
          await unchanged(all, async () =>
            expectValidationProblem(await call('PUT', `/${type}/${id}`, { json: body })),
          );
        },
      ),
      arb.runs(100),
    );
  });

  it('refuses a PUT to a bad type or id with a 400, and changes nothing', async () => {
    const badPath = fc.oneof(
      fc.tuple(arb.anyTypeSegment, arb.validId.map(String)),
      fc.tuple(arb.itemType, arb.invalidIdText),
    );
    await fc.assert(
      fc.asyncProperty(badPath, quantity, async ([type, id], amount) => {
        const validType = (arb.contract.itemTypes as readonly string[]).includes(type);
        fc.pre(type !== '' && !(validType && !arb.clearlyNotAnId(id)));
        await unchanged(all, async () =>
          expectProblem(
            await call('PUT', `/${arb.pct(type)}/${arb.pct(id)}`, { json: { quantity: amount } }),
            400,
          ),
        );
      }),
      arb.runs(100),
    );
  });

  it('pages the list by limit and after=<type>:<id>, with a Link exactly when there is a next page', async () => {
    await fc.assert(
      fc.asyncProperty(arb.listQuery(arb.recordAfterValue), async (query) => {
        const everything = await all();
        const answer = await call('GET', `?${arb.queryString(query.pairs)}`);
        if (query.class === 'invalid') {
          expectProblem(answer, 400);
          return;
        }
        expectNoServerError(answer);
        if (query.class === 'unclear') return;
        expectStatus(answer, 200);
        const limit = Number(query.limit ?? arb.contract.page.defaultLimit);
        const [afterType = '', afterId = '0'] = query.after?.split(':') ?? [];
        const after = { type: afterType, id: Number(afterId) };
        const rest = everything.filter((r) => byTypeThenId(r, after) > 0);
        expect(answer.json).toEqual(rest.slice(0, limit));
        const next = nextLink(answer);
        if (rest.length <= limit) {
          expect(next).toBeUndefined();
          return;
        }
        const url = new URL(next ?? 'missing:', 'http://x');
        expect(url.pathname).toBe('/api/inventory');
        expect([...url.searchParams.keys()].sort()).toEqual(['after', 'limit']);
        expect(url.searchParams.get('after')).toBe(keyOf(rest[limit - 1] as StockRecord));
        expect(url.searchParams.get('limit')).toBe(String(limit));
      }),
      arb.runs(100),
    );
  });
});

/** Items of a reservation: some with stock (ids 1–12), some never stocked (ids 900–902 or huge). */
const line = fc.record({
  type: arb.itemType,
  id: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 12 }) },
    { weight: 1, arbitrary: fc.integer({ min: 900, max: 902 }) },
    { weight: 1, arbitrary: arb.bodyId },
  ),
  quantity: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: arb.contract.reservation.minQuantity, max: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000 }) },
    {
      weight: 1,
      arbitrary: fc.integer({
        min: arb.contract.reservation.minQuantity,
        max: arb.contract.reservation.maxQuantity,
      }),
    },
  ),
});
const items = fc.oneof(
  { weight: 6, arbitrary: fc.array(line, { minLength: 1, maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.array(line, {
      minLength: arb.contract.reservation.minItems,
      maxLength: arb.contract.reservation.maxItems,
    }),
  },
);

let keys = 0;
/** The key made unique to this run (a run must not meet an earlier run's reservation), still 1–100 characters. */
const unique = (key: string) => {
  const suffix = `~${(keys++).toString(36)}`;
  return key.slice(0, arb.contract.reservation.keyMaxLength - suffix.length) + suffix;
};

describe('inventory-api reservations', () => {
  const reserve = (key: string | undefined, json: unknown) =>
    call('POST', '/reservations', { json, headers: { 'idempotency-key': key } });
  const merged = (lines: Line[]) => {
    const byItem = new Map<string, Line>();
    for (const l of lines) {
      const seen = byItem.get(keyOf(l));
      byItem.set(keyOf(l), { ...l, quantity: (seen?.quantity ?? 0) + l.quantity });
    }
    return [...byItem.values()].sort(byTypeThenId);
  };
  /** Sets stock anew for the items that have records (ids 1–12), so that both enough and too little happen. */
  const restock = async (lines: Line[], levels: number[]) => {
    for (const [i, l] of merged(lines)
      .filter((l) => l.id <= 12)
      .entries()) {
      expectStatus(await call('PUT', `/${l.type}/${l.id}`, { json: { quantity: levels[i] ?? 3 } }), 200);
    }
  };
  const levels = fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 50 });
  const retries = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('same body' as const), levels }),
      fc.record({ kind: fc.constant('another body' as const), items, levels }),
    ),
    { maxLength: 3 },
  );

  it('reserves all or nothing, once per key: 201 and the stock taken, 409 with the short items, 200 for a replay, 422 for another body under a used key', async () => {
    await fc.assert(
      fc.asyncProperty(
        arb.validIdempotencyKey,
        items,
        levels,
        retries,
        async (givenKey, first, stock, then) => {
          const key = unique(givenKey);
          let kept: { items: Line[]; answer: unknown } | undefined;
          const attempts = [
            { sent: first, stock },
            ...then.map((t) => ({ sent: t.kind === 'same body' ? first : t.items, stock: t.levels })),
          ];
          for (const { sent, stock: levelsNow } of attempts) {
            await restock(sent, levelsNow);
            const before = await all();
            const answer = await reserve(key, { items: sent });
            if (kept) {
              expect(await all()).toEqual(before); // a key that reserved once never reserves again
              if (isDeepStrictEqual(sent, kept.items)) {
                expectStatus(answer, 200);
                expect(answer.json).toEqual(kept.answer);
              } else if (isDeepStrictEqual(merged(sent), merged(kept.items))) {
                expectNoServerError(answer); // the same items, in another order or split: the contract does not say
              } else {
                expectProblem(answer, 422);
              }
              continue;
            }
            const available = (l: Line) => before.find((r) => keyOf(r) === keyOf(l))?.quantity ?? 0;
            const short = merged(sent).filter((l) => available(l) < l.quantity);
            if (short.length > 0) {
              expectProblem(answer, 409);
              expect([...answer.json.short].sort(byTypeThenId)).toEqual(
                short.map((l) => ({
                  type: l.type,
                  id: l.id,
                  requested: l.quantity,
                  available: available(l),
                })),
              );
              expect(await all()).toEqual(before); // and the key stays unused: a retry may succeed
              continue;
            }
            expectStatus(answer, 201);
            expect(answer.json).toEqual({ reservationId: expect.any(Number), items: expect.any(Array) });
            expect(merged(answer.json.items)).toEqual(merged(sent));
            const taken = new Map(merged(sent).map((l) => [keyOf(l), l.quantity]));
            expect(await all()).toEqual(
              before.map((r) => ({ ...r, quantity: r.quantity - (taken.get(keyOf(r)) ?? 0) })),
            );
            kept = { items: sent, answer: answer.json };
          }
        },
      ),
      arb.runs(150),
    );
  });

  it('refuses a forbidden Idempotency-Key or body with a 400, takes no stock, and leaves the key unused', async () => {
    const badLine = arb.forbiddenBody(arb.reservationLineSpecs).map((f) => f.body);
    const badBody = fc.oneof(
      fc.tuple(items, badLine, fc.nat()).map(([good, bad, at]) => {
        const lines: unknown[] = [...good];
        lines.splice(at % (lines.length + 1), 0, bad);
        return { items: lines.slice(0, arb.contract.reservation.maxItems) };
      }),
      fc.constant({ items: [] }),
      fc
        .array(line, { minLength: arb.contract.reservation.maxItems + 1, maxLength: 70 })
        .map((lines) => ({ items: lines })),
      fc.record({ items: arb.notAnObject.filter((v) => !Array.isArray(v)) }),
      fc.constant({}),
      fc
        .tuple(items, arb.unknownKey(['items']), fc.jsonValue({ maxDepth: 1 }))
        .map(([lines, k, v]) => arb.withField({ items: lines }, k, v)),
      arb.notAnObject,
    );
    const forbidden = fc.oneof(
      fc.record({ key: arb.invalidIdempotencyKey, body: items.map((lines) => ({ items: lines })) }),
      fc.record({ key: arb.validIdempotencyKey.map(unique), body: badBody }),
    );
    await fc.assert(
      fc.asyncProperty(forbidden, async ({ key, body }) => {
        await unchanged(all, async () => expectProblem(await reserve(key, body), 400));
        // Nothing was kept under that key: a valid reservation with it is a new one.
        if (key !== undefined && key !== '' && key.length <= arb.contract.reservation.keyMaxLength) {
          const fresh = await reserve(key, { items: [{ type: 'book', id: 901, quantity: 1 }] });
          expectProblem(fresh, 409);
        }
      }),
      arb.runs(100),
    );
  });
});

describe('inventory-api, any request', () => {
  it('never answers with a 5xx or a closed connection', async () => {
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    const path = fc.oneof(
      arb.anyQuery.map((query) => `?${query}`),
      fc.tuple(arb.anyTypeSegment, arb.anySegment).map(([t, id]) => `/${arb.pct(t)}/${id}`),
      arb.anySegment.map((segment) => `/${segment}`),
      arb.anyQuery.map((query) => `/reservations?${query}`),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.record({ quantity: quantity }).map((json) => JSON.stringify(json)),
      items.map((lines) => JSON.stringify({ items: lines })),
      fc.jsonValue({ maxDepth: 2 }).map((json) => JSON.stringify(json)),
      arb.malformedJson,
    );
    const key = fc.option(fc.oneof(arb.validIdempotencyKey, arb.invalidIdempotencyKey), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        methods,
        path,
        body,
        arb.anyContentType,
        key,
        async (method, url, payload, type, k) => {
          const answer = await call(method, url, {
            body: payload,
            headers: { 'content-type': payload === undefined ? undefined : type, 'idempotency-key': k },
          });
          if (method === 'HEAD') expect(answer.status).toBeLessThan(500);
          else expectNoServerError(answer);
        },
      ),
      arb.runs(100),
    );
  });
});
