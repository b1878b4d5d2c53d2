/**
 * The checks a speaker does on stage, against the published ports (127.0.0.1 by default): create a book and
 * see its ISBN from number-api, look at a book's stock, put it in a cart, check out, see the stock go down;
 * the storefront serves its page and its config. Every response must say who served it (X-Served-By).
 *
 * Requests go only to `host` (loopback unless told otherwise), one at a time, each with a time limit.
 */

export const ports = {
  web: 8080,
  'book-api': 8081,
  'cd-api': 8082,
  'dvd-api': 8083,
  'number-api': 8084,
  'inventory-api': 8085,
  'shoppingcart-api': 8086,
} as const;

export type Service = keyof typeof ports;

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
  host = '127.0.0.1',
  log: (line: string) => void = console.log,
): Promise<SmokeResult> {
  const checks: string[] = [];
  const ok = (line: string) => {
    checks.push(line);
    log(`  ok  ${line}`);
  };

  async function call(service: Service, method: string, path: string, body?: unknown): Promise<Response> {
    const url = `http://${host}:${ports[service]}${path}`;
    let res: globalThis.Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
    const servedBy = res.headers.get('x-served-by');
    if (servedBy === null || !servedBy.startsWith(`${service}/`)) {
      throw new Error(
        `${method} ${url}: X-Served-By is ${JSON.stringify(servedBy)}, expected "${service}/<instance>"`,
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

  for (const service of Object.keys(ports) as Service[]) {
    const res = await call(service, 'GET', '/health/ready');
    expectStatus(res, 200, `${service} GET /health/ready`);
  }
  ok('every service answers GET /health/ready with 200 and X-Served-By');

  const created = await call('book-api', 'POST', '/api/books', {
    title: 'Baking a Microservice Pi(e)',
    author: 'Smoke Test',
    year: 2026,
    price: 19.99,
  });
  expectStatus(created, 201, 'POST /api/books');
  const isbn = field<string>(created.json, 'isbn', 'POST /api/books');
  if (!isbn.startsWith('978') || !validEan13(isbn))
    throw new Error(`POST /api/books: "${isbn}" is no valid ISBN-13 978…`);
  ok(`POST /api/books → 201, ISBN ${isbn} from number-api (valid ISBN-13)`);

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

  const cart = await call('shoppingcart-api', 'POST', '/api/carts');
  expectStatus(cart, 201, 'POST /api/carts');
  const cartId = field<number | string>(cart.json, 'id', 'POST /api/carts');
  const added = await call('shoppingcart-api', 'POST', `/api/carts/${cartId}/items`, {
    type: 'book',
    id: bookId,
    quantity: 1,
  });
  expectStatus(added, 200, `POST /api/carts/${cartId}/items`);
  ok(`cart ${cartId} created, book ${bookId} added`);

  const order = await call('shoppingcart-api', 'POST', `/api/carts/${cartId}/checkout`);
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
