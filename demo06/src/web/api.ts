/**
 * The storefront's HTTP client. Every API location comes from /config.json at run time; every failure becomes an
 * ApiError whose `detail` is fit to show a person (the problem+json `detail` when the service sent one). Every
 * call carries the logged-in user's token (`Authorization: Bearer`); the gateway decides what it allows.
 */
import { EXPIRED_MESSAGE, isTokenResponse, type SessionState } from './session.js';
import type {
  Cart,
  CatalogCreate,
  CatalogResponse,
  ItemType,
  Order,
  StoreApi,
  StageInfo,
  StockRecord,
  StoreConfig,
  TokenResponse,
} from './types.js';
import { STORE_APIS } from './types.js';

const TIMEOUT_MS = 8000;

const COLLECTIONS: Record<ItemType, string> = { book: '/api/books', cd: '/api/cds', dvd: '/api/dvds' };

/** What the client calls: the store's APIs, and the log-in. */
export type Service = StoreApi | 'auth';

/** How a person calls each service in a message. */
export const API_LABELS: Record<Service, string> = {
  book: 'book',
  cd: 'CD',
  dvd: 'DVD',
  inventory: 'inventory',
  cart: 'shopping-cart',
  auth: 'log-in',
};

/** The service behind each API, as its `X-Served-By` names it. */
const API_SERVICES: Record<StoreApi, string> = {
  book: 'book-api',
  cd: 'cd-api',
  dvd: 'dvd-api',
  inventory: 'inventory-api',
  cart: 'shoppingcart-api',
};

export const LOG_IN_MESSAGE = 'please log in';
export const FORBIDDEN_MESSAGE = 'your role may not do this';

export class ApiError extends Error {
  constructor(
    readonly service: Service,
    /** HTTP status, or 0 when no answer came back at all */
    readonly status: number,
    readonly detail: string,
    /** The problem+json body as sent, for its extension members (e.g. `short` on a 409 checkout) */
    readonly problem: Record<string, unknown> = {},
    /** Seconds to wait before trying again (a 429's `Retry-After`), when the answer said */
    readonly retryAfter: number | null = null,
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
  /**
   * The call means nothing without a log-in (a cart, a change to a catalog): with nobody logged in it is not
   * sent. Other calls go with the token when there is one, and without it when there is none.
   */
  signedIn?: boolean;
  /** Sent without a token whatever the session (the log-in itself). */
  anonymous?: boolean;
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
  const token = config?.auth?.token;
  if (typeof token !== 'string' || token === '') throw new Error('config.json says nowhere to log in');
  const stage: StageInfo = {
    stage: String(config?.stage?.stage ?? ''),
    number: Number(config?.stage?.number ?? 0),
    title: String(config?.stage?.title ?? ''),
  };
  return { stage, apis, auth: { token } };
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
    private readonly session: SessionState,
    private readonly onServedBy: ServedByListener = () => {},
  ) {}

  /** Logs in: the gateway's token and the user it names, or an ApiError whose detail says why not. */
  async logIn(username: string, password: string): Promise<TokenResponse> {
    let body: unknown;
    try {
      ({ body } = await this.send<unknown>('auth', this.config.auth.token, {
        method: 'POST',
        body: { username, password },
        anonymous: true,
      }));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // The gateway says the same for an unknown user as for a wrong password, and so does the page.
      if (error.status === 401) throw new ApiError('auth', 401, 'the user name or password is wrong');
      if (error.status === 429) {
        const when = error.retryAfter !== null && error.retryAfter > 0 ? `in ${error.retryAfter} s` : 'later';
        throw new ApiError('auth', 429, `too many log-in attempts: please try again ${when}`);
      }
      throw error;
    }
    if (!isTokenResponse(body)) {
      throw new ApiError('auth', 502, 'the log-in answered with something that is not a token');
    }
    return body;
  }

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
    return this.request('cart', '/api/carts', { method: 'POST', body: {}, signedIn: true });
  }

  getCart(cartId: number): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}`, { signedIn: true });
  }

  addToCart(cartId: number, type: ItemType, id: number, quantity = 1): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}/items`, {
      method: 'POST',
      body: { type, id, quantity },
      signedIn: true,
    });
  }

  removeFromCart(cartId: number, type: ItemType, id: number): Promise<Cart> {
    return this.request('cart', `/api/carts/${cartId}/items/${type}/${id}`, {
      method: 'DELETE',
      signedIn: true,
    });
  }

  /** The cart id is the idempotency key: a retried checkout returns the same order and reserves nothing more. */
  checkout(cartId: number): Promise<Order> {
    return this.request('cart', `/api/carts/${cartId}/checkout`, {
      method: 'POST',
      headers: { 'Idempotency-Key': String(cartId) },
      signedIn: true,
    });
  }

  /** Adds an item to its catalog (an admin's call): the item as stored, with its id and number. */
  createItem<T extends ItemType>(type: T, item: CatalogCreate[T]): Promise<CatalogResponse[T]> {
    return this.request(type, COLLECTIONS[type], { method: 'POST', body: item, signedIn: true });
  }

  /** Creates or replaces an item's stock record (an admin's call). */
  setStock(type: ItemType, id: number, quantity: number): Promise<StockRecord> {
    return this.request('inventory', `/api/inventory/${type}/${id}`, {
      method: 'PUT',
      body: { quantity },
      signedIn: true,
    });
  }

  /** "" when the API is on the page's own origin (behind the gateway). */
  baseUrl(service: StoreApi): string {
    return this.config.apis[service].replace(/\/+$/, '');
  }

  private async request<T>(service: StoreApi, path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(service, this.baseUrl(service) + path, options)).body;
  }

  private async requestPage<T>(service: StoreApi, path: string): Promise<Page<T>> {
    const { body, res } = await this.send<T[]>(service, this.baseUrl(service) + path);
    return { items: body, next: nextLink(res) };
  }

  private async send<T>(
    service: Service,
    url: string,
    options: RequestOptions = {},
  ): Promise<{ body: T; res: Response }> {
    const label = API_LABELS[service];
    const token = options.anonymous ? null : this.session.token();
    if (options.signedIn && typeof token !== 'string') {
      throw new ApiError(service, 401, token === 'expired' ? EXPIRED_MESSAGE : LOG_IN_MESSAGE);
    }
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (typeof token === 'string') headers.Authorization = `Bearer ${token}`;
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

    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      const why = timedOut
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : `cannot reach ${new URL(url, location.href).origin}`;
      throw new ApiError(service, 0, `the ${label} service is unavailable (${why})`);
    }

    if (service !== 'auth') {
      const servedBy = servedByOf(res, service);
      if (servedBy) this.onServedBy(service, servedBy);
    }

    const body = await readBody(res);
    if (res.ok) return { body: body as T, res };

    const problem = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const detail = problemDetail(body, label, res.status);
    if (res.status === 401 && typeof token === 'string') {
      const expired = this.session.refused(token);
      // What anyone may read is read again without the token, so an ended session costs no catalog.
      if (!options.signedIn) return this.send<T>(service, url, { ...options, anonymous: true });
      throw new ApiError(service, 401, expired ? EXPIRED_MESSAGE : `${LOG_IN_MESSAGE} (${detail})`, problem);
    }
    if (res.status === 401) throw new ApiError(service, 401, `${LOG_IN_MESSAGE} (${detail})`, problem);
    if (res.status === 403) throw new ApiError(service, 403, `${FORBIDDEN_MESSAGE} (${detail})`, problem);
    const retryAfter = Number(res.headers.get('Retry-After') ?? Number.NaN);
    throw new ApiError(
      service,
      res.status,
      detail,
      problem,
      Number.isInteger(retryAfter) ? retryAfter : null,
    );
  }
}

/**
 * Which instance of the API's service answered. Behind the gateway the answer may carry the gateway's own
 * `X-Served-By` and the service's in `X-Upstream-Served-By`: the service's is the one worth showing.
 */
function servedByOf(res: Response, service: StoreApi): string | null {
  const servedBy = res.headers.get('X-Served-By');
  const candidates = [servedBy, ...(res.headers.get('X-Upstream-Served-By') ?? '').split(',')]
    .map((value) => value?.trim() ?? '')
    .filter(Boolean);
  return candidates.find((value) => value.startsWith(`${API_SERVICES[service]}/`)) ?? servedBy;
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
