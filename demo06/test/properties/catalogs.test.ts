import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { books } from '../../src/services/book-api/definition.js';
import { cds } from '../../src/services/cd-api/definition.js';
import { dvds } from '../../src/services/dvd-api/definition.js';
import { isValidEan13 } from '../../src/lib/check-digit.js';
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

type Item = { id: number } & Record<string, unknown>;
const byId = (a: Item, b: Item) => a.id - b.id;

const catalogs = [books, cds, dvds].map((definition) => ({
  definition,
  service: `${definition.type}-api` as const,
  specs: arb.fieldSpecs(definition.fields),
}));

describe.each(catalogs)('$service', ({ definition, service, specs }) => {
  const { collection, numberField } = definition;
  const schema = z.strictObject(definition.fields);
  const path = (suffix = '') => `/api/${collection}${suffix}`;
  const call = (method: string, suffix: string, json?: unknown) =>
    send(stage.url[service], method, path(suffix), json === undefined ? {} : { json });
  const all = () => readAll<Item>(stage.url[service], path());
  const create = async (json: unknown): Promise<Item> => {
    const answer = await call('POST', '', json);
    expectStatus(answer, 201);
    return answer.json;
  };
  const remove = async (item: Item) => expectStatus(await call('DELETE', `/${item.id}`), 204);
  const numbers = new Set<string>();

  it('creates every valid item: 201 with an id, a fresh valid number and a Location; readable and listed', async () => {
    await fc.assert(
      fc.asyncProperty(arb.validBody(specs), async (body) => {
        const before = await all();
        const answer = await call('POST', '', body);
        expectStatus(answer, 201);
        const item = answer.json;
        expect(item).toEqual({
          ...arb.stored(specs, body),
          id: expect.any(Number),
          [numberField]: expect.any(String),
        });
        expect(isValidEan13(item[numberField])).toBe(true);
        expect(numbers.has(item[numberField])).toBe(false);
        numbers.add(item[numberField]);
        expect(answer.headers.location).toBe(path(`/${item.id}`));
        expect((await call('GET', `/${item.id}`)).json).toEqual(item);
        expect(await all()).toEqual([...before, item].sort(byId));
        await remove(item); // keeps the catalog small, so every later read of it stays cheap
      }),
      arb.runs(100),
    );
  });

  it('refuses every forbidden body with a 400 listing the errors, and creates nothing', async () => {
    await fc.assert(
      fc.asyncProperty(arb.forbiddenBody(specs), async ({ body }) => {
        await unchanged(all, async () => expectValidationProblem(await call('POST', '', body)));
      }),
      arb.runs(150),
    );
  });

  it('accepts a JSON body exactly when the service schema does', async () => {
    const mixed = fc.record(
      Object.fromEntries(specs.map((s) => [s.name, fc.oneof(arb.validValue(s), arb.invalidValue(s))])),
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      mixed,
      arb.validBody(specs),
      arb.forbiddenBody(specs).map((f) => f.body),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const onTheWire = JSON.parse(JSON.stringify(value) ?? 'null');
        const expected = schema.safeParse(onTheWire);
        if (!expected.success) {
          await unchanged(all, async () => expectValidationProblem(await call('POST', '', value)));
          return;
        }
        const before = await all();
        const item = await create(value);
        expect(item).toEqual({ ...expected.data, id: item.id, [numberField]: item[numberField] });
        expect(await all()).toEqual([...before, item].sort(byId));
        await remove(item);
      }),
      arb.runs(100),
    );
  });

  it('replaces an item with every valid body; its id and number stay, and may be echoed back', async () => {
    const echo = fc.constantFrom('none', 'id', 'number', 'both');
    await fc.assert(
      fc.asyncProperty(arb.validBody(specs), fc.nat(), echo, async (body, pick, echoed) => {
        const before = await all();
        const target = before[pick % before.length] as Item;
        const json = {
          ...body,
          ...((echoed === 'id' || echoed === 'both') && { id: target.id }),
          ...((echoed === 'number' || echoed === 'both') && { [numberField]: target[numberField] }),
        };
        const answer = await call('PUT', `/${target.id}`, json);
        expectStatus(answer, 200);
        const expected = { ...arb.stored(specs, body), id: target.id, [numberField]: target[numberField] };
        expect(answer.json).toEqual(expected);
        expect((await call('GET', `/${target.id}`)).json).toEqual(expected);
        expect(await all()).toEqual(before.map((item) => (item.id === target.id ? expected : item)));
      }),
      arb.runs(100),
    );
  });

  it('refuses every forbidden replacement (400), a changed id or number included, and keeps the item', async () => {
    const changed = fc.oneof(
      fc
        .tuple(arb.validBody(specs), fc.oneof(arb.bodyId, fc.jsonValue({ maxDepth: 1 })))
        .map(([body, id]) => ({
          field: 'id',
          body: { ...body, id },
        })),
      fc
        .tuple(arb.validBody(specs), fc.oneof(fc.string({ maxLength: 14 }), fc.jsonValue({ maxDepth: 1 })))
        .map(([body, number]) => ({ field: numberField, body: { ...body, [numberField]: number } })),
    );
    const forbidden = fc.oneof(
      arb.forbiddenBody(specs, ['id', numberField]).map((f) => ({ field: undefined, body: f.body })),
      changed,
    );
    await fc.assert(
      fc.asyncProperty(forbidden, fc.nat(), async ({ field, body }, pick) => {
        const items = await all();
        const target = items[pick % items.length] as Item;
        // Echoing the item's own id or number is allowed: not a change.
        fc.pre(field === undefined || (body as Record<string, unknown>)[field] !== target[field]);
        await unchanged(all, async () => expectValidationProblem(await call('PUT', `/${target.id}`, body)));
      }),
      arb.runs(100),
    );
  });

  it('refuses an id that is not a positive integer (400) on GET, PUT and DELETE, and changes nothing', async () => {
    const methods = fc.constantFrom('GET', 'PUT', 'DELETE');
    await fc.assert(
      fc.asyncProperty(arb.invalidIdText, methods, arb.validBody(specs), async (id, method, body) => {
        await unchanged(all, async () =>
          expectProblem(await call(method, `/${arb.pct(id)}`, method === 'PUT' ? body : undefined), 400),
        );
      }),
      arb.runs(100),
    );
  });

  it('answers 404 for every valid id it does not hold, on GET, PUT and DELETE, and changes nothing', async () => {
    const methods = fc.constantFrom('GET', 'PUT', 'DELETE');
    await fc.assert(
      fc.asyncProperty(arb.validId, methods, arb.validBody(specs), async (id, method, body) => {
        const before = await all();
        fc.pre(!before.some((item) => item.id === id));
        expectProblem(await call(method, `/${id}`, method === 'PUT' ? body : undefined), 404);
        expect(await all()).toEqual(before);
      }),
      arb.runs(100),
    );
  });

  it('gets every item it lists, by id, as listed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (pick) => {
        const items = await all();
        const item = items[pick % items.length] as Item;
        const answer = await call('GET', `/${item.id}`);
        expectStatus(answer, 200);
        expect(answer.json).toEqual(item);
      }),
      arb.runs(50),
    );
  });

  it('deletes every item it holds: 204, then 404 for it, and the others stay', async () => {
    await fc.assert(
      fc.asyncProperty(arb.validBody(specs), async (body) => {
        const item = await create(body);
        const before = await all();
        const answer = await call('DELETE', `/${item.id}`);
        expectStatus(answer, 204);
        expect(answer.text).toBe('');
        expectProblem(await call('GET', `/${item.id}`), 404);
        expectProblem(await call('DELETE', `/${item.id}`), 404);
        expect(await all()).toEqual(before.filter((other) => other.id !== item.id));
      }),
      arb.runs(50),
    );
  });

  it('pages the list by limit and after, with a Link to the next page exactly when there is one', async () => {
    await fc.assert(
      fc.asyncProperty(arb.listQuery(arb.idAfterValue), async (query) => {
        const everything = await all();
        const answer = await send(stage.url[service], 'GET', `${path()}?${arb.queryString(query.pairs)}`);
        if (query.class === 'invalid') {
          expectProblem(answer, 400);
          return;
        }
        expectNoServerError(answer);
        if (query.class === 'unclear') return;
        expectStatus(answer, 200);
        const limit = Number(query.limit ?? arb.contract.page.defaultLimit);
        const rest = everything.filter((item) => item.id > Number(query.after ?? 0));
        expect(answer.json).toEqual(rest.slice(0, limit));
        const next = nextLink(answer);
        if (rest.length <= limit) {
          expect(next).toBeUndefined();
          return;
        }
        const params = new URL(next ?? 'missing:', 'http://x').searchParams;
        expect(next && new URL(next, 'http://x').pathname).toBe(path());
        expect([...params.keys()].sort()).toEqual(['after', 'limit']);
        expect(params.get('after')).toBe(String(rest[limit - 1]?.id));
        expect(params.get('limit')).toBe(String(limit));
      }),
      arb.runs(100),
    );
  });

  it('following the Link from any page size walks the whole list once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: arb.contract.page.maxLimit }), async (limit) => {
        const everything = await all();
        const walked: Item[] = [];
        let target: string | undefined = `${path()}?limit=${limit}`;
        while (target !== undefined) {
          const answer = await send(stage.url[service], 'GET', target);
          expectStatus(answer, 200);
          expect(answer.json.length).toBeLessThanOrEqual(limit);
          expect(answer.json.length).toBeGreaterThan(0);
          walked.push(...answer.json);
          const next = nextLink(answer);
          target = next && `${new URL(next, 'http://x').pathname}${new URL(next, 'http://x').search}`;
        }
        expect(walked).toEqual(everything);
      }),
      arb.runs(30),
    );
  });

  it('never answers any request with a 5xx or a closed connection', async () => {
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    const target = fc.oneof(
      arb.anyQuery.map((query) => `${path()}?${query}`),
      arb.anySegment.map((segment) => path(`/${segment}`)),
      fc.tuple(arb.anySegment, arb.anySegment).map(([a, b]) => path(`/${a}/${b}`)),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      arb.validBody(specs).map((json) => JSON.stringify(json)),
      fc.jsonValue({ maxDepth: 2 }).map((json) => JSON.stringify(json)),
      arb.malformedJson,
    );
    await fc.assert(
      fc.asyncProperty(methods, target, body, arb.anyContentType, async (method, url, payload, type) => {
        const answer = await send(stage.url[service], method, url, {
          body: payload,
          headers: { 'content-type': payload === undefined ? undefined : type },
        });
        if (method === 'HEAD') expect(answer.status).toBeLessThan(500);
        else expectNoServerError(answer);
      }),
      arb.runs(100),
    );
  });
});
