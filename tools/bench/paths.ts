// The paths a person uses, as load jobs against a running stage, in the order they run: the catalog is read
// before it grows, then books are created, then the default page of the catalog is read again (what a visitor
// sees once the catalog has grown), then carts are filled.
import { gatewayToken } from '../lib/gateway-login.ts';
import { gatewayPort, localUrl } from '../lib/ports.ts';
import type { Body } from './bodies.ts';
import type { CannonJob } from './load-worker.ts';

export const PATHS = ['catalog-read', 'book-create', 'list-after-growth', 'add-to-cart'] as const;
export type PathName = (typeof PATHS)[number];

export const PATH_TITLES: Record<PathName, string> = {
  'catalog-read': 'catalog read (GET /api/books)',
  'book-create': 'book create (POST /api/books → number-api)',
  'list-after-growth': 'list after growth (GET /api/books, the default page, after the creates)',
  'add-to-cart': 'add to cart (POST /api/carts/{id}/items → catalog)',
};

/** Short labels for narrow places (the chart). */
export const PATH_LABELS: Record<PathName, string> = {
  'catalog-read': 'catalog read',
  'book-create': 'book create',
  'list-after-growth': 'list after growth',
  'add-to-cart': 'add to cart',
};

export const SERVICE_URLS = {
  book: localUrl('book-api'),
  cd: localUrl('cd-api'),
  dvd: localUrl('dvd-api'),
  cart: localUrl('shoppingcart-api'),
};

/** Stage number, e.g. 3 for demo03 (99 for demo99). */
export const stageNumber = (stage: string): number => Number(/(\d+)$/.exec(stage)?.[1] ?? 0);

export interface PathSetup {
  url: string;
  path: string;
  method: 'GET' | 'POST';
  body: Body;
  headers?: Record<string, string>;
  carts?: string[];
  items?: { type: string; id: number }[];
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The gateway, from demo06 on: every path goes through it, as a user's requests do. */
const GATEWAY_URL = `http://127.0.0.1:${gatewayPort}`;

/** A demo user's Authorization header, taken once before the load. */
const bearer = async (who: 'admin' | 'alice') => ({
  authorization: `Bearer ${await gatewayToken(GATEWAY_URL, who)}`,
});

/**
 * What each path needs against this stage. Up to demo05 a person calls the services directly; from demo06 on
 * everything goes through the gateway: reads anonymously, creates with an admin's token, carts with a
 * customer's, each token taken once before the load (as a browser keeps its token).
 */
export async function setUpPath(stage: string, path: PathName, connections: number): Promise<PathSetup> {
  const gateway = stageNumber(stage) >= 6;
  const urls = gateway
    ? { book: GATEWAY_URL, cd: GATEWAY_URL, dvd: GATEWAY_URL, cart: GATEWAY_URL }
    : SERVICE_URLS;
  switch (path) {
    case 'catalog-read':
    case 'list-after-growth':
      return { url: urls.book, path: '/api/books', method: 'GET', body: 'none' };
    case 'book-create':
      return {
        url: urls.book,
        path: '/api/books',
        method: 'POST',
        body: 'book',
        ...(gateway && { headers: await bearer('admin') }),
      };
    case 'add-to-cart': {
      // Carts to add to, in turn, and the first few items of each catalog: a cart holds at most 24 lines,
      // so its answer (the whole cart) stays the same size however long the load runs.
      const items: { type: string; id: number }[] = [];
      for (const [type, collection] of [
        ['book', 'books'],
        ['cd', 'cds'],
        ['dvd', 'dvds'],
      ] as const) {
        const list = (await json(`${urls[type]}/api/${collection}`)) as { id: number }[];
        items.push(...list.slice(0, 8).map((item) => ({ type, id: item.id })));
      }
      const headers = gateway ? await bearer('alice') : {};
      const carts: string[] = [];
      // Enough carts that none reaches 99 of an item (the contract's bound) however fast the machine.
      for (let i = 0; i < Math.max(200, connections * 20); i++) {
        const cart = (await json(`${urls.cart}/api/carts`, { method: 'POST', headers })) as {
          id: string | number;
        };
        carts.push(String(cart.id));
      }
      return {
        url: urls.cart,
        path: '/api/carts/{cart}/items',
        method: 'POST',
        body: 'cart-item',
        carts,
        items,
        ...(gateway && { headers }),
      };
    }
  }
}

export function cannonJob(
  setup: PathSetup,
  settings: { connections: number; durationS: number; warmupS: number },
): CannonJob {
  return { kind: 'cannon', ...setup, ...settings };
}
