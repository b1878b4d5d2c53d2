/**
 * The storefront's HTTP client. Every API location comes from /config.json at run time; every failure becomes an
 * ApiError whose `detail` is fit to show a person (the problem+json `detail` when the service sent one).
 */
import type {
  Cart,
  CatalogResponse,
  ItemType,
  Order,
  StoreApi,
  StageInfo,
  StockRecord,
  StoreConfig,
} from './types.js';
import { STORE_APIS } from './types.js';

const TIMEOUT_MS = 8000;

const COLLECTIONS: Record<ItemType, string> = { book: '/api/books', cd: '/api/cds', dvd: '/api/dvds' };

/** How a person calls each service in a message. */
export const API_LABELS: Record<StoreApi, string> = {
  book: 'book',
  cd: 'CD',
  dvd: 'DVD',
  inventory: 'inventory',
  cart: 'shopping-cart',
};

export class ApiError extends Error {
  constructor(
    readonly service: StoreApi,
    /** HTTP status, or 0 when no answer came back at all */
    readonly status: number,
    readonly detail: string,
    /** The problem+json body as sent, for its extension members (e.g. `short` on a 409 checkout) */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** Called with the `X-Served-By` header of every response, so the page can show which instance answered. */
export type ServedByListener = (service: StoreApi, servedBy: string) => void;

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
}

export async function loadStoreConfig(): Promise<StoreConfig> {
  let res: Response;
  try {
    res = await fetch('config.json', { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    throw new Error('the storefront could not load config.json (is the web service running?)');
  }
  if (!res.ok) throw new Error(`the storefront could not load config.json (HTTP ${res.status})`);
  const raw: unknown = await res.json();
  return parseConfig(raw);
}

function parseConfig(raw: unknown): StoreConfig {
  const config = raw as Partial<StoreConfig> | null;
  const apis = config?.apis;
  if (!apis || typeof apis !== 'object') throw new Error('config.json has no "apis" object');
  for (const name of STORE_APIS) {
    if (typeof apis[name] !== 'string') throw new Error(`config.json has no URL for the "${name}" API`);
  }
  const stage: StageInfo = {
    stage: String(config?.stage?.stage ?? ''),
    number: Number(config?.stage?.number ?? 0),
    title: String(config?.stage?.title ?? ''),
  };
  return { stage, apis };
}

/** One page of a list, and the path of the next one (from its `Link: <…>; rel="next"`), if any. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

function nextLink(res: Response): string | null {
  return /<([^>]*)>\s*;\s*rel="next"/.exec(res.headers.get('Link') ?? '')?.[1] ?? null;
}

export class Api {
  constructor(
    private readonly config: StoreConfig,
    private readonly onServedBy: ServedByListener = () => {},
  ) {}

  /** A page of a catalog: the first one, or the one at `next` (a path from the previous page). */
  listItems<T extends ItemType>(type: T, next?: string): Promise<Page<CatalogResponse[T]>> {
    return this.requestPage(type, next ?? COLLECTIONS[type]);
  }

  /** A page of stock records, in type-then-id order: from the start, after a position, or at `next`. */
  listInventory(from: { after: string } | { next: string }): Promise<Page<StockRecord>> {
    const path =
      'next' in from ? from.next : `/api/inventory?after=${encodeURIComponent(from.after)}&limit=100`;
    return this.requestPage('inventory', path);
  }

  createCart(): Promise<Cart> {
    return this.request('cart', '/api/carts', { method: 'POST', body: {} });
  }

  getCart(cartId: number): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}`);
  }

  addToCart(cartId: number, type: ItemType, id: number, quantity = 1): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}/items`, {
      method: 'POST',
      body: { type, id, quantity },
    });
  }

  removeFromCart(cartId: number, type: ItemType, id: number): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}/items/${type}/${id}`, { method: 'DELETE' });
  }

  /** The cart id is the idempotency key: a retried checkout returns the same order and reserves nothing more. */
  checkout(cartId: number): Promise<Order> {
    return this.request('cart', `/api/carts/${cartId}/checkout`, {
      method: 'POST',
      headers: { 'Idempotency-Key': String(cartId) },
    });
  }

  baseUrl(service: StoreApi): string {
    return this.config.apis[service].replace(/\/+$/, '');
  }

  private async request<T>(service: StoreApi, path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(service, path, options)).body;
  }

  private async requestPage<T>(service: StoreApi, path: string): Promise<Page<T>> {
    const { body, res } = await this.send<T[]>(service, path);
    return { items: body, next: nextLink(res) };
  }

  private async send<T>(
    service: StoreApi,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ body: T; res: Response }> {
    const url = this.baseUrl(service) + path;
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    const init: RequestInit = {
      method: options.method ?? 'GET',
      headers,
      cache: 'no-store',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const label = API_LABELS[service];

    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      const why = timedOut
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : `cannot reach ${this.baseUrl(service)}`;
      throw new ApiError(service, 0, `the ${label} service is unavailable (${why})`);
    }

    const servedBy = res.headers.get('X-Served-By');
    if (servedBy) this.onServedBy(service, servedBy);

    const body = await readBody(res);
    if (!res.ok) {
      const problem = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
      throw new ApiError(service, res.status, problemDetail(body, label, res.status), problem);
    }
    return { body: body as T, res };
  }
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

interface Problem {
  title?: unknown;
  detail?: unknown;
  errors?: { path?: unknown; message?: unknown }[];
}

/** The sentence to show for an error answer: the problem's detail, plus the validation errors if any. */
function problemDetail(body: unknown, label: string, status: number): string {
  const problem = (body && typeof body === 'object' ? body : {}) as Problem;
  const base =
    typeof problem.detail === 'string' && problem.detail
      ? problem.detail
      : typeof problem.title === 'string' && problem.title
        ? problem.title
        : `the ${label} service answered HTTP ${status}`;
  const errors = Array.isArray(problem.errors)
    ? problem.errors.map((e) =>
        [e.path, e.message].filter((part) => part !== undefined && part !== '').join(': '),
      )
    : [];
  return errors.length > 0 ? `${base} (${errors.join('; ')})` : base;
}
