import { request as rawRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type TestStage } from '../support/stage.js';
import { type Answer, refusedByGateway, through, tokenOf } from './support.js';

/**
 * Who may do what, through the gateway in front of the whole stage (real services, real etcd): every route of
 * the public API × no token / customer / admin, one customer's cart hidden from another, identity headers a
 * client sends ignored, and paths that could mean something else behind the gateway refused.
 */

let stage: TestStage;
let gateway: string;
const tokens: Record<'customer' | 'admin' | 'bob', string> = { customer: '', admin: '', bob: '' };

beforeAll(async () => {
  stage = await startStage();
  gateway = stage.url.gateway;
  tokens.customer = await tokenOf(gateway, 'alice');
  tokens.bob = await tokenOf(gateway, 'bob');
  tokens.admin = await tokenOf(gateway, 'admin');
}, 60_000);
afterAll(() => stage?.stop());

type Who = 'nobody' | 'customer' | 'admin';
/** `ok`: the service answered (whatever it said); a number: the gateway refused with that status. */
type Outcome = 'ok' | 401 | 403 | 404;

const book = { title: 'Gateway book', author: 'A. Uthor', year: 2001, price: 9.5 };
const cd = { title: 'Gateway CD', artist: 'A. Rtist', year: 2001, price: 9.5 };
const dvd = { title: 'Gateway DVD', director: 'D. Irector', year: 2001, price: 9.5 };

interface Row {
  method: string;
  /** `{cart}`: a cart of alice's; `{book}`: a book made for the row. */
  path: string;
  json?: unknown;
  outcomes: Record<Who, Outcome>;
}

const anyone: Row['outcomes'] = { nobody: 'ok', customer: 'ok', admin: 'ok' };
const adminOnly: Row['outcomes'] = { nobody: 401, customer: 403, admin: 'ok' };
const customerOnly: Row['outcomes'] = { nobody: 401, customer: 'ok', admin: 403 };
const internal: Row['outcomes'] = { nobody: 404, customer: 404, admin: 404 };

/** Every operation of the store's public API, and the ones that stay internal. */
const table: Row[] = [
  { method: 'GET', path: '/api/books', outcomes: anyone },
  { method: 'GET', path: '/api/books/1', outcomes: anyone },
  { method: 'POST', path: '/api/books', json: book, outcomes: adminOnly },
  { method: 'PUT', path: '/api/books/{book}', json: book, outcomes: adminOnly },
  { method: 'DELETE', path: '/api/books/{book}', outcomes: adminOnly },
  { method: 'GET', path: '/api/cds', outcomes: anyone },
  { method: 'GET', path: '/api/cds/1', outcomes: anyone },
  { method: 'POST', path: '/api/cds', json: cd, outcomes: adminOnly },
  { method: 'PUT', path: '/api/cds/1', json: { ...cd, title: 'Renamed CD' }, outcomes: adminOnly },
  { method: 'DELETE', path: '/api/cds/999999', outcomes: adminOnly },
  { method: 'GET', path: '/api/dvds', outcomes: anyone },
  { method: 'GET', path: '/api/dvds/1', outcomes: anyone },
  { method: 'POST', path: '/api/dvds', json: dvd, outcomes: adminOnly },
  { method: 'PUT', path: '/api/dvds/1', json: { ...dvd, title: 'Renamed DVD' }, outcomes: adminOnly },
  { method: 'DELETE', path: '/api/dvds/999999', outcomes: adminOnly },
  { method: 'GET', path: '/api/inventory', outcomes: anyone },
  { method: 'GET', path: '/api/inventory/book/1', outcomes: anyone },
  { method: 'PUT', path: '/api/inventory/book/1', json: { quantity: 7 }, outcomes: adminOnly },
  { method: 'POST', path: '/api/inventory/reservations', json: { items: [] }, outcomes: internal },
  { method: 'POST', path: '/api/numbers/isbn', outcomes: internal },
  { method: 'POST', path: '/api/numbers/ean', outcomes: internal },
  { method: 'POST', path: '/api/carts', outcomes: customerOnly },
  { method: 'GET', path: '/api/carts/{cart}', outcomes: customerOnly },
  {
    method: 'POST',
    path: '/api/carts/{cart}/items',
    json: { type: 'book', id: 1, quantity: 1 },
    outcomes: customerOnly,
  },
  { method: 'DELETE', path: '/api/carts/{cart}/items/book/1', outcomes: customerOnly },
  { method: 'POST', path: '/api/carts/{cart}/checkout', outcomes: customerOnly },
  // The services' routers ignore case and a trailing slash: so does the table.
  { method: 'POST', path: '/api/inventory/Reservations', json: { items: [] }, outcomes: internal },
  { method: 'POST', path: '/api/inventory/reservations/', json: { items: [] }, outcomes: internal },
  { method: 'POST', path: '/API/numbers/ISBN', outcomes: internal },
  { method: 'POST', path: '/API/Carts', outcomes: customerOnly },
  { method: 'PUT', path: '/api/Inventory/book/1/', json: { quantity: 7 }, outcomes: adminOnly },
  // The web service's list of every instance and every service's metrics are for Prometheus, inside (the
  // gateway's own metrics are on its metrics port, which is not published).
  { method: 'GET', path: '/registry/targets', outcomes: internal },
  { method: 'GET', path: '/metrics', outcomes: internal },
  { method: 'GET', path: '/Metrics/', outcomes: internal },
];

const tokenFor = (who: Who) => (who === 'nobody' ? undefined : tokens[who]);

describe('the gateway decides who may do what', () => {
  const cases = table.flatMap((row) =>
    (['nobody', 'customer', 'admin'] as const).map((who) => ({ ...row, who, outcome: row.outcomes[who] })),
  );

  it.each(cases)('$method $path as $who: $outcome', async ({ method, path, json, who, outcome }) => {
    let concrete = path;
    if (path.includes('{cart}')) {
      const cart = await through(gateway, 'POST', '/api/carts', { token: tokens.customer });
      concrete = concrete.replace('{cart}', String(cart.body.id));
    }
    if (path.includes('{book}')) {
      const made = await through(gateway, 'POST', '/api/books', { token: tokens.admin, json: book });
      concrete = concrete.replace('{book}', String(made.body.id));
    }
    const answer = await through(gateway, method, concrete, { token: tokenFor(who), json });
    if (outcome === 'ok') {
      expect(answer.headers.get('x-upstream-served-by'), JSON.stringify(answer.body)).toMatch(
        /^[a-z-]+-api\//,
      );
      expect([401, 403]).not.toContain(answer.status);
    } else {
      expect(refusedByGateway(answer, outcome), `${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
      if (outcome === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="pie"');
    }
  });
});

describe('a cart belongs to the customer who made it', () => {
  it('another customer gets 404 for it, whatever they try; its owner sees it', async () => {
    const cart = await through(gateway, 'POST', '/api/carts', { token: tokens.customer });
    expect(cart.status).toBe(201);
    const id = cart.body.id as number;
    for (const [method, path, json] of [
      ['GET', `/api/carts/${id}`, undefined],
      ['POST', `/api/carts/${id}/items`, { type: 'book', id: 1, quantity: 1 }],
      ['DELETE', `/api/carts/${id}/items/book/1`, undefined],
      ['POST', `/api/carts/${id}/checkout`, undefined],
    ] as const) {
      const answer = await through(gateway, method, path, { token: tokens.bob, json });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.detail).toBe(`cart ${id} does not exist`);
    }
    const own = await through(gateway, 'GET', `/api/carts/${id}`, { token: tokens.customer });
    expect(own.status).toBe(200);
    expect(own.body.items).toEqual([]);
  });

  it('an identity header the client sends is ignored: the token says who it is', async () => {
    const cart = await through(gateway, 'POST', '/api/carts', {
      token: tokens.customer,
      headers: { 'x-user-sub': 'bob', 'x-user-role': 'admin' },
    });
    expect(cart.status).toBe(201);
    const asBob = await through(gateway, 'GET', `/api/carts/${cart.body.id}`, { token: tokens.bob });
    expect(asBob.status).toBe(404);
    // Without a token the header makes nobody anybody.
    const forged = await through(gateway, 'POST', '/api/carts', {
      headers: { 'x-user-sub': 'alice', 'x-user-role': 'customer' },
    });
    expect(refusedByGateway(forged, 401)).toBe(true);
  });
});

describe('tokens at the door', () => {
  it('a bad token is a 401 that says why, with error="invalid_token"; the token is not repeated', async () => {
    const tampered = `${tokens.customer.slice(0, -4)}AAAA`;
    const answer = await through(gateway, 'POST', '/api/carts', { token: tampered });
    expect(refusedByGateway(answer, 401)).toBe(true);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="pie", error="invalid_token"');
    expect(answer.body.detail).toMatch(/token/);
    expect(JSON.stringify(answer.body)).not.toContain(tampered);
  });

  it('another scheme than Bearer is no token', async () => {
    const answer = await through(gateway, 'POST', '/api/carts', {
      headers: { authorization: 'Basic YWxpY2U6eA==' },
    });
    expect(refusedByGateway(answer, 401)).toBe(true);
  });

  it('a customer may not write the catalog: 403 says which role it needs', async () => {
    const answer = await through(gateway, 'POST', '/api/books', { token: tokens.customer, json: book });
    expect(refusedByGateway(answer, 403)).toBe(true);
    expect(answer.body.detail).toContain('admin');
  });
});

/** The raw request line, as a client may send it (fetch would normalise the path first). */
function rawGet(path: string): Promise<Answer> {
  const url = new URL(gateway);
  return new Promise((resolve, reject) => {
    const req = rawRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          if (typeof value === 'string') headers.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('paths that could mean something else behind the gateway', () => {
  it.each([
    '/api/books/../carts/1',
    '/api/books/%2e%2e/carts/1',
    '/api/inventory/book%2F1',
    '/api/inventory/reservations%2f..',
    '/api//books',
    '/api/books/1\\..',
    '/./api/books',
  ])('%s is refused with a 400, before any service sees it', async (path) => {
    const answer = await rawGet(path);
    expect(refusedByGateway(answer, 400), `${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
  });
});
