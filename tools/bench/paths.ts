// The paths a person uses, as load jobs against a running stage, in the order they run: the catalog is read
// before it grows, then books are created, then the default page of the catalog is read again (what a visitor
// sees once the catalog has grown), then carts are filled.
import { localUrl } from '../lib/ports.ts';
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

/**
 * What each path needs against this stage. Up to demo05 a person calls the services directly; from demo06 on
 * everything goes through the gateway with a valid token, as a user would — that part is written when demo06
 * lands (its login contract decides how the token is obtained), and until then such a stage is reported as
 * not measured rather than measured the wrong way.
 */
export async function setUpPath(stage: string, path: PathName, connections: number): Promise<PathSetup> {
  if (stageNumber(stage) >= 6) {
    throw new Error(`${stage} is reached through the gateway; the benchmark does not log in there yet`);
  }
  switch (path) {
    case 'catalog-read':
    case 'list-after-growth':
      return { url: SERVICE_URLS.book, path: '/api/books', method: 'GET', body: 'none' };
    case 'book-create':
      return { url: SERVICE_URLS.book, path: '/api/books', method: 'POST', body: 'book' };
    case 'add-to-cart': {
      // Carts to add to, in turn, and the first few items of each catalog: a cart holds at most 24 lines,
      // so its answer (the whole cart) stays the same size however long the load runs.
      const items: { type: string; id: number }[] = [];
      for (const [type, collection] of [
        ['book', 'books'],
        ['cd', 'cds'],
        ['dvd', 'dvds'],
      ] as const) {
        const list = (await json(`${SERVICE_URLS[type]}/api/${collection}`)) as { id: number }[];
        items.push(...list.slice(0, 8).map((item) => ({ type, id: item.id })));
      }
      const carts: string[] = [];
      // Enough carts that none reaches 99 of an item (the contract's bound) however fast the machine.
      for (let i = 0; i < Math.max(200, connections * 20); i++) {
        const cart = (await json(`${SERVICE_URLS.cart}/api/carts`, { method: 'POST' })) as {
          id: string | number;
        };
        carts.push(String(cart.id));
      }
      return {
        url: SERVICE_URLS.cart,
        path: '/api/carts/{cart}/items',
        method: 'POST',
        body: 'cart-item',
        carts,
        items,
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
