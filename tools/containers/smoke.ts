/**
 * The checks a speaker does on stage, against the ports the stage publishes (127.0.0.1 by default): create a book
 * and see its ISBN from number-api, look at a book's stock, put it in a cart, check out, see the stock go down; the
 * storefront serves its page and its config. Every response must say who served it (X-Served-By).
 *
 * Which services are published, and on which host port, comes from the stage's compose file: from demo02 on,
 * number-api is not published (only other services call it); its ISBN in the created book shows it works.
 *
 * Requests go only to `host` (loopback unless told otherwise), one at a time, each with a time limit.
 */
import { gatewayToken } from '../lib/gateway-login.ts';
import { type Service, servicePorts } from '../lib/ports.ts';

/** Host ports by service, as the compose file publishes them. */
export type Published = Partial<Record<string, number>>;

/** What the smoke checks cannot do without: they call these from outside. */
export const smokeNeeds: Service[] = ['book-api', 'inventory-api', 'shoppingcart-api', 'web'];

export interface SmokeResult {
  checks: string[];
  bookId: number;
  orderId: string;
}

interface Response {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A valid ISBN-13 (and EAN-13): 13 digits, weights 1 and 3, sum ≡ 0 (mod 10). */
export function validEan13(code: string): boolean {
  if (!/^\d{13}$/.test(code)) return false;
  const sum = [...code].reduce((acc, digit, i) => acc + Number(digit) * (i % 2 === 0 ? 1 : 3), 0);
  return sum % 10 === 0;
}

export async function smoke(
  published: Published,
  host = '127.0.0.1',
  log: (line: string) => void = console.log,
): Promise<SmokeResult> {
  // From the gateway stage on, every call goes through the gateway (the only published service), with a token.
  const gateway = published.gateway === undefined ? undefined : `http://${host}:${published.gateway}`;
  const tokens = gateway && {
    admin: await gatewayToken(gateway, 'admin'),
    customer: await gatewayToken(gateway, 'alice'),
  };
  const as = (who: 'admin' | 'customer'): Record<string, string> =>
    tokens ? { authorization: `Bearer ${tokens[who]}` } : {};
  const missing = gateway ? [] : smokeNeeds.filter((service) => published[service] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `the smoke checks call ${missing.join(', ')} from outside, but the compose file does not publish them`,
    );
  }
  const checks: string[] = [];
  const ok = (line: string) => {
    checks.push(line);
    log(`  ok  ${line}`);
  };

  async function call(
    service: Service | 'gateway',
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = `${gateway ?? `http://${host}:${published[service]}`}${path}`;
    let res: globalThis.Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new Error(`${method} ${url}: no answer (${(error as Error).cause ?? (error as Error).message})`, {
        cause: error,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    // Through the gateway, the service that answered is the first of X-Upstream-Served-By.
    const servedBy =
      gateway && service !== 'gateway'
        ? (res.headers.get('x-upstream-served-by')?.split(',')[0]?.trim() ?? null)
        : res.headers.get('x-served-by');
    if (servedBy === null || !servedBy.startsWith(`${service}/`)) {
      throw new Error(
        `${method} ${url}: ${gateway ? 'X-Upstream-Served-By' : 'X-Served-By'} is ${JSON.stringify(servedBy)}, expected "${service}/<instance>"`,
      );
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  function expectStatus(res: Response, status: number, what: string): void {
    if (res.status !== status)
      throw new Error(`${what}: HTTP ${res.status}, expected ${status}: ${res.text.slice(0, 500)}`);
  }

  function field<T>(value: unknown, name: string, what: string): T {
    if (typeof value !== 'object' || value === null || !(name in value)) {
      throw new Error(`${what}: no "${name}" in ${JSON.stringify(value)?.slice(0, 500)}`);
    }
    return (value as Record<string, T>)[name] as T;
  }

  const outside = [...(Object.keys(servicePorts) as Service[]), 'gateway' as const].filter(
    (service) => published[service] !== undefined,
  );
  for (const service of outside) {
    const res = await call(service, 'GET', '/health/ready');
    expectStatus(res, 200, `${service} GET /health/ready`);
  }
  const inside = (Object.keys(servicePorts) as Service[]).filter(
    (service) => published[service] === undefined,
  );
  ok(
    `every published service answers GET /health/ready with 200 and X-Served-By (${outside.join(', ')})` +
      (inside.length > 0 ? `; not published: ${inside.join(', ')}` : ''),
  );

  const created = await call(
    'book-api',
    'POST',
    '/api/books',
    { title: 'Baking a Microservice Pi(e)', author: 'Smoke Test', year: 2026, price: 19.99 },
    as('admin'),
  );
  expectStatus(created, 201, 'POST /api/books');
  const isbn = field<string>(created.json, 'isbn', 'POST /api/books');
  if (!isbn.startsWith('978') || !validEan13(isbn))
    throw new Error(`POST /api/books: "${isbn}" is no valid ISBN-13 978…`);
  const upstream = created.headers.get('x-upstream-served-by');
  ok(
    `POST /api/books → 201, ISBN ${isbn} from number-api (valid ISBN-13)` +
      (upstream === null ? '' : `, X-Upstream-Served-By ${upstream}`),
  );

  const list = await call('book-api', 'GET', '/api/books');
  expectStatus(list, 200, 'GET /api/books');
  if (!Array.isArray(list.json)) throw new Error(`GET /api/books: not an array: ${list.text.slice(0, 200)}`);
  let bookId: number | undefined;
  let stock = 0;
  for (const book of list.json) {
    const id = field<number>(book, 'id', 'GET /api/books');
    const record = await call('inventory-api', 'GET', `/api/inventory/book/${id}`);
    if (record.status === 404) continue;
    expectStatus(record, 200, `GET /api/inventory/book/${id}`);
    const quantity = field<number>(record.json, 'quantity', `GET /api/inventory/book/${id}`);
    if (quantity > 0) {
      bookId = id;
      stock = quantity;
      break;
    }
  }
  if (bookId === undefined) throw new Error('no seeded book has stock in inventory-api');
  ok(`GET /api/inventory/book/${bookId} → 200, quantity ${stock}`);

  const cart = await call('shoppingcart-api', 'POST', '/api/carts', undefined, as('customer'));
  expectStatus(cart, 201, 'POST /api/carts');
  const cartId = field<number | string>(cart.json, 'id', 'POST /api/carts');
  const added = await call(
    'shoppingcart-api',
    'POST',
    `/api/carts/${cartId}/items`,
    { type: 'book', id: bookId, quantity: 1 },
    as('customer'),
  );
  expectStatus(added, 200, `POST /api/carts/${cartId}/items`);
  ok(`cart ${cartId} created, book ${bookId} added`);

  const order = await call(
    'shoppingcart-api',
    'POST',
    `/api/carts/${cartId}/checkout`,
    undefined,
    as('customer'),
  );
  expectStatus(order, 201, `POST /api/carts/${cartId}/checkout`);
  const orderId = String(field<unknown>(order.json, 'orderId', 'checkout'));
  ok(`POST /api/carts/${cartId}/checkout → 201, order ${orderId}`);

  const after = await call('inventory-api', 'GET', `/api/inventory/book/${bookId}`);
  expectStatus(after, 200, `GET /api/inventory/book/${bookId}`);
  const left = field<number>(after.json, 'quantity', 'inventory after checkout');
  if (left !== stock - 1)
    throw new Error(`stock of book ${bookId} is ${left} after checkout, expected ${stock - 1}`);
  ok(`stock of book ${bookId} went from ${stock} to ${left}`);

  const page = await call('web', 'GET', '/');
  expectStatus(page, 200, 'GET / (storefront)');
  if (!(page.headers.get('content-type') ?? '').startsWith('text/html') || !/<html/i.test(page.text)) {
    throw new Error(`GET / (storefront): not an HTML page (${page.headers.get('content-type')})`);
  }
  const config = await call('web', 'GET', '/config.json');
  expectStatus(config, 200, 'GET /config.json');
  if (typeof config.json !== 'object' || config.json === null)
    throw new Error(`GET /config.json: not JSON: ${config.text}`);
  ok('storefront GET / → HTML, GET /config.json → JSON');

  return { checks, bookId, orderId };
}

/** One book create through book-api, as a stage's own checks make many of. */
export interface BookCreate {
  /** HTTP status; 0 when book-api did not answer */
  status: number;
  isbn?: string;
  /** X-Served-By: the book-api instance */
  servedBy: string | null;
  /** X-Upstream-Served-By: the number-api instance that gave the ISBN */
  upstream: string | null;
  /** the problem's detail (or the error) when it failed */
  detail?: string;
}

export async function createBook(
  port: number,
  title: string,
  host = '127.0.0.1',
  /** Through a gateway (`port` is then the gateway's): an admin's token. */
  token?: string,
): Promise<BookCreate> {
  let res: globalThis.Response;
  try {
    res = await fetch(`http://${host}:${port}/api/books`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ title, author: 'Container Test', year: 2026, price: 9.99 }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const why = (error as Error).cause ?? (error as Error).message;
    return { status: 0, servedBy: null, upstream: null, detail: String(why) };
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported through detail
  }
  const isbn = typeof json.isbn === 'string' ? json.isbn : undefined;
  // Through a gateway, X-Upstream-Served-By names book-api's instance first, then number-api's.
  const upstreams = res.headers.get('x-upstream-served-by');
  const [first, ...rest] = upstreams?.split(',').map((s) => s.trim()) ?? [];
  return {
    status: res.status,
    isbn,
    servedBy: token === undefined ? res.headers.get('x-served-by') : (first ?? null),
    upstream: token === undefined ? upstreams : rest.join(', ') || null,
    detail: res.ok ? undefined : typeof json.detail === 'string' ? json.detail : text.slice(0, 300),
  };
}

/**
 * Book creates as the stage takes them: through its gateway as an admin when it has one (logging in again when a
 * restarted gateway signs with a new key), else on book-api's own port.
 */
export function bookCreator(
  host: string,
  ports: { gateway?: number; bookApi?: number },
): (title: string) => Promise<BookCreate> {
  const { gateway, bookApi } = ports;
  if (gateway === undefined) {
    if (bookApi === undefined) throw new Error('book-api is not published');
    return (title) => createBook(bookApi, title, host);
  }
  let token: string | undefined;
  return async (title) => {
    token ??= await gatewayToken(`http://${host}:${gateway}`, 'admin');
    const created = await createBook(gateway, title, host, token);
    if (created.status !== 401) return created;
    token = await gatewayToken(`http://${host}:${gateway}`, 'admin');
    return createBook(gateway, title, host, token);
  };
}
