import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import { expectProblem, expectStatus, readAll, send, unchanged } from './harness.js';

let stage: TestStage;
let cartId: number;
beforeAll(async () => {
  stage = await startStage();
  cartId = (await send(stage.url['shoppingcart-api'], 'POST', '/api/carts')).json.id;
  const line = { type: 'book', id: 1, quantity: 2 };
  expectStatus(
    await send(stage.url['shoppingcart-api'], 'POST', `/api/carts/${cartId}/items`, { json: line }),
    200,
  );
});
afterAll(() => stage.stop());

type Api = keyof TestStage['url'];
/** Every endpoint that takes a body, with a body it would accept. */
const endpoints: {
  api: Api;
  method: string;
  path: () => string;
  valid: unknown;
  headers?: Record<string, string>;
}[] = [
  {
    api: 'book-api',
    method: 'POST',
    path: () => '/api/books',
    valid: { title: 'T', author: 'A', year: 2000, price: 1 },
  },
  {
    api: 'book-api',
    method: 'PUT',
    path: () => '/api/books/2',
    valid: { title: 'T', author: 'A', year: 2000, price: 1 },
  },
  {
    api: 'cd-api',
    method: 'POST',
    path: () => '/api/cds',
    valid: { title: 'T', artist: 'A', year: 2000, price: 1 },
  },
  {
    api: 'cd-api',
    method: 'PUT',
    path: () => '/api/cds/2',
    valid: { title: 'T', artist: 'A', year: 2000, price: 1 },
  },
  {
    api: 'dvd-api',
    method: 'POST',
    path: () => '/api/dvds',
    valid: { title: 'T', director: 'D', year: 2000, price: 1 },
  },
  {
    api: 'dvd-api',
    method: 'PUT',
    path: () => '/api/dvds/2',
    valid: { title: 'T', director: 'D', year: 2000, price: 1 },
  },
  { api: 'inventory-api', method: 'PUT', path: () => '/api/inventory/cd/2', valid: { quantity: 4 } },
  {
    api: 'inventory-api',
    method: 'POST',
    path: () => '/api/inventory/reservations',
    valid: { items: [{ type: 'dvd', id: 2, quantity: 1 }] },
    headers: { 'idempotency-key': 'transport-property' },
  },
  {
    api: 'shoppingcart-api',
    method: 'POST',
    path: () => `/api/carts/${cartId}/items`,
    valid: { type: 'cd', id: 3, quantity: 1 },
  },
];

/** Everything a client can change: the catalogs, the stock and the cart the cart endpoint writes to. */
async function store() {
  return {
    books: await readAll(stage.url['book-api'], '/api/books'),
    cds: await readAll(stage.url['cd-api'], '/api/cds'),
    dvds: await readAll(stage.url['dvd-api'], '/api/dvds'),
    stock: await readAll(stage.url['inventory-api'], '/api/inventory'),
    cart: (await send(stage.url['shoppingcart-api'], 'GET', `/api/carts/${cartId}`)).json,
  };
}

const endpoint = fc.constantFrom(...endpoints);
const call = (
  e: (typeof endpoints)[number],
  body: string | Buffer,
  headers: Record<string, string | undefined>,
) => send(stage.url[e.api], e.method, e.path(), { body, headers: { ...e.headers, ...headers } });

describe('every endpoint that takes a body', () => {
  it('refuses malformed JSON with a 400, and nothing changes', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, arb.malformedJson, async (e, body) => {
        await unchanged(store, async () =>
          expectProblem(await call(e, body, { 'content-type': 'application/json' }), 400),
        );
      }),
      arb.runs(100),
    );
  });

  it('refuses a body that is not declared as JSON with a 415, and nothing changes', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, arb.notJsonContentType, async (e, type) => {
        await unchanged(store, async () =>
          expectProblem(await call(e, JSON.stringify(e.valid), { 'content-type': type }), 415),
        );
      }),
      arb.runs(100),
    );
  });

  it('refuses a body over 64 KiB with a 413, and nothing changes', async () => {
    const size = fc.integer({ min: arb.contract.bodyLimitBytes + 1, max: 4 * arb.contract.bodyLimitBytes });
    await fc.assert(
      fc.asyncProperty(endpoint, size, async (e, bytes) => {
        // The valid body, padded with whitespace (still valid JSON) to exactly `bytes` bytes.
        const json = JSON.stringify(e.valid);
        const body = `${json.slice(0, -1)}${' '.repeat(bytes - json.length)}}`;
        expect(Buffer.byteLength(body)).toBe(bytes);
        await unchanged(store, async () =>
          expectProblem(await call(e, body, { 'content-type': 'application/json' }), 413),
        );
      }),
      arb.runs(30),
    );
  });

  it('refuses JSON that is not an object with a 400, and nothing changes', async () => {
    const deep = fc
      .integer({ min: 1, max: 30_000 })
      .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
    const notObject = fc.oneof(
      arb.notAnObject.map((value) => JSON.stringify(value)),
      deep,
    );
    await fc.assert(
      fc.asyncProperty(endpoint, notObject, async (e, body) => {
        await unchanged(store, async () =>
          expectProblem(await call(e, body, { 'content-type': 'application/json' }), 400),
        );
      }),
      arb.runs(100),
    );
  });

  it('answers any content type, charset or encoding of a body with no 5xx', async () => {
    const encoding = fc.constantFrom(
      undefined,
      'identity',
      'gzip',
      'deflate',
      'br',
      'x-unknown',
      'gzip, gzip',
    );
    const body = fc.oneof(
      endpoint.map((e) => JSON.stringify(e.valid)),
      arb.malformedJson,
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        body,
        arb.anyContentType,
        encoding,
        fc.boolean(),
        async (e, text, type, enc, zip) => {
          const payload = zip && enc === 'gzip' ? gzipSync(text) : text;
          const answer = await call(e, payload, { 'content-type': type, 'content-encoding': enc });
          expect(answer.status, `${answer.request} → ${answer.status} ${answer.text}`).toBeLessThan(500);
          if (answer.status >= 400) expectProblem(answer);
        },
      ),
      arb.runs(100),
    );
  });
});

describe('every service', () => {
  it('answers any method with a response, never a 5xx or a closed connection', async () => {
    const api = fc.constantFrom<Api>(
      'number-api',
      'book-api',
      'cd-api',
      'dvd-api',
      'inventory-api',
      'shoppingcart-api',
    );
    const method = fc.oneof(
      fc.constantFrom(
        'GET',
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        'HEAD',
        'OPTIONS',
        'TRACE',
        'PROPFIND',
        'MKCOL',
      ),
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 1, maxLength: 8 }),
    );
    const path = fc.constantFrom(
      '/api/books',
      '/api/books/1',
      '/api/inventory',
      '/api/carts',
      '/health/live',
      '/',
    );
    await fc.assert(
      fc.asyncProperty(api, method, path, async (service, m, p) => {
        const answer = await send(stage.url[service], m, p);
        expect(answer.status, `${answer.request} → ${answer.status} ${answer.text}`).toBeLessThan(500);
      }),
      arb.runs(100),
    );
  });
});
