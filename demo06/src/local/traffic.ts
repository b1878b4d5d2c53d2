import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultPorts } from '../lib/config.js';
import type { ItemType } from '../lib/contract.js';
import { type DemoRole, Logins } from './login.js';

/**
 * `npm run traffic`: people using the store, so that a speaker's dashboards have something to show. Each
 * journey browses the storefront and the catalogs, sometimes adds a book, and fills a cart that it checks out
 * half of the time. It finds every API through the storefront's /config.json, as the browser does, so one
 * address works for `npm start`, compose and the Pis.
 */

export interface TrafficOptions {
  /** Journeys started per second. */
  rate: number;
  /** Seconds to start journeys for; 0: until stopped. */
  durationS: number;
  /** Journeys in flight at most: a start due while that many run is skipped (and counted), never queued. */
  concurrency: number;
  /** The storefront, through the gateway: http://localhost:9000. */
  storefront: string;
  /** How often a progress line is written. */
  progressMs?: number;
  /** Aborted: the run stops at once, requests in flight included (Ctrl-C). */
  signal?: AbortSignal;
}

export type Writer = (line: string) => void;

export class UsageError extends Error {}

export const defaultStorefront = `http://localhost:${defaultPorts.gateway}`;

/** Longer than a service's own call timeout (2 s), so a slow dependency shows as its 503, not as our timeout. */
const requestTimeoutMs = 5000;
const itemTypes: readonly ItemType[] = ['book', 'cd', 'dvd'];
const collections: Record<ItemType, string> = { book: '/api/books', cd: '/api/cds', dvd: '/api/dvds' };
type Api = ItemType | 'inventory' | 'cart';
type Apis = Record<Api, string>;

export const usage = `Usage: npm run traffic -- [options]
Starts user journeys against a running stage, so that its dashboards move.
  --rate N          journeys started per second (default 5)
  --duration S      seconds to run; 0 runs until Ctrl-C (default 60)
  --concurrency N   journeys in flight at most; a start due beyond it is skipped (default 20)
  --storefront URL  the storefront (the gateway), whose /config.json says where every API is (default ${defaultStorefront})
  --help            this text
A journey: the storefront page, a page of each catalog with its stock (sometimes the next page), one item;
1 in 5 add a book and stock it; then a new cart with 1-3 items, checked out 1 in 2 times.`;

function number(name: string, raw: string, min: number, max: number, integer: boolean): number {
  const value = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  )
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`,
    );
  return value;
}

const cliOptions = {
  rate: { type: 'string', default: '5' },
  duration: { type: 'string', default: '60' },
  concurrency: { type: 'string', default: '20' },
  storefront: { type: 'string', default: defaultStorefront },
  help: { type: 'boolean', default: false },
} as const;

function readArgs(argv: string[]) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options: cliOptions }).values;
  } catch (err) {
    const { code, message } = err as Error & { code?: string };
    // Node's advice on positionals after its first sentence does not apply: this command takes none.
    const positional =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL';
    const sentence = positional ? message.split('. ')[0] : message.replaceAll('\n', ' ').replace(/\.$/, '');
    throw new UsageError(`${sentence} (see --help)`);
  }
}

/** The command line as options, or 'help'; anything wrong is a UsageError of one sentence. */
export function parseOptions(argv: string[]): TrafficOptions | 'help' {
  const values = readArgs(argv);
  if (values.help) return 'help';
  let storefront: URL | undefined;
  try {
    storefront = new URL(values.storefront);
  } catch {
    // reported below
  }
  if (storefront?.protocol !== 'http:' && storefront?.protocol !== 'https:')
    throw new UsageError(
      `--storefront must be an http(s) URL such as ${defaultStorefront}, got "${values.storefront}"`,
    );
  return {
    // From about one journey a minute to what one Node process can send.
    rate: number('rate', values.rate, 0.02, 1000, false),
    durationS: number('duration', values.duration, 0, 7 * 24 * 3600, false),
    concurrency: number('concurrency', values.concurrency, 1, 1000, true),
    storefront: storefront.href.replace(/\/+$/, ''),
  };
}

/** Request durations in buckets 2% apart: a median to within 2%, in bounded memory however long the run. */
class Latencies {
  private readonly counts = new Map<number, number>();
  private total = 0;

  add(ms: number): void {
    const bucket = Math.ceil(Math.log(Math.max(ms, 0.01) / 0.01) / Math.log(1.02));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  /** The q-quantile in ms (the upper bound of its bucket), or undefined without a sample. */
  quantile(q: number): number | undefined {
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= q * this.total) return 0.01 * 1.02 ** bucket;
    }
    return undefined;
  }
}

const ms = (value: number | undefined) =>
  value === undefined ? '- ms' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

/** Ends a journey when the run stops; a request it cut off is not counted as failed. */
class Stopped extends Error {}

/**
 * What the store holds is bounded (docs/API.md, "Limits"), and a client that leaves carts open or checks out
 * without end would run into those bounds and see 507s that only the tool caused. Each budget keeps this
 * run below half of a default bound within its time window. It cannot see other clients, or earlier runs.
 */
class Budget {
  private readonly taken: number[] = [];
  private readonly max: number;
  private readonly windowMs: number;

  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  available(): boolean {
    const since = Date.now() - this.windowMs;
    while ((this.taken[0] ?? Infinity) < since) this.taken.shift();
    return this.taken.length < this.max;
  }

  take(): void {
    this.taken.push(Date.now());
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

interface Candidate {
  type: ItemType;
  id: number;
  /** From the stock page read with the catalog page; undefined when not read. */
  stock?: number;
}

const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(Math.random() * list.length)];
const chance = (p: number) => Math.random() < p;

/** The cause of a failed fetch, short: ECONNREFUSED, ENOTFOUND, "no answer within 5 s". */
function failure(err: unknown): string {
  if (err instanceof DOMException && err.name === 'TimeoutError')
    return `no answer within ${requestTimeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

class Traffic {
  journeys = 0;
  skipped = 0;
  readonly statuses = { '2xx': 0, '4xx': 0, '5xx': 0, failed: 0, other: 0 };
  requests = 0;
  readonly latencies = new Latencies();
  /** Since the last progress line. */
  recent = new Latencies();
  recentErrors = 0;
  lastError = '';
  orders = 0;
  outOfStock = 0;
  booksCreated = 0;
  cartsSkipped = 0;
  catalogFull = false;
  stopping = false;
  /** Aborted on Ctrl-C: cuts off requests in flight. */
  readonly halt = new AbortController();
  /** Books this run created and stocked: what a cart can still buy once the seeded stock is sold. */
  private readonly newBooks: number[] = [];
  private readonly run = randomUUID().slice(0, 8);
  // Half of CART_MAX_OPEN (10 000) within CART_IDLE_TTL_SECONDS (30 min), after which an open cart is dropped;
  // half of RESERVATION_MAX_KEPT (10 000) within RESERVATION_TTL_SECONDS (1 h).
  private readonly openCarts = new Budget(5000, 30 * 60_000);
  private readonly reservations = new Budget(5000, 60 * 60_000);

  private readonly storefront: string;
  private readonly apis: Apis;
  /** The demo users' tokens, when the stage has a gateway that asks for them. */
  private readonly logins: Logins | undefined;

  constructor(storefront: string, apis: Apis, logins?: Logins) {
    this.storefront = storefront;
    this.apis = apis;
    this.logins = logins;
  }

  private async call(
    method: string,
    url: string,
    options: { json?: unknown; headers?: Record<string, string>; as?: DemoRole } = {},
  ): Promise<Answer | undefined> {
    if (this.stopping) throw new Stopped();
    const started = performance.now();
    let answer: Answer;
    try {
      const authorization = options.as && (await this.logins?.authorization(options.as));
      const response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(options.json !== undefined && { 'content-type': 'application/json' }),
          ...(authorization && { authorization }),
          ...options.headers,
        },
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
        redirect: 'manual',
        signal: AbortSignal.any([this.halt.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const text = await response.text();
      const json = response.headers.get('content-type')?.includes('json') && text !== '';
      answer = { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text };
    } catch (err) {
      if (this.halt.signal.aborted) throw new Stopped();
      this.count('failed', performance.now() - started, `${method} ${url}: ${failure(err)}`);
      return undefined;
    }
    const { status } = answer;
    const kind =
      status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 200 && status < 300 ? '2xx' : 'other';
    const detail = (answer.body as { detail?: unknown } | undefined)?.detail;
    this.count(
      kind,
      performance.now() - started,
      `${status} ${method} ${url}${typeof detail === 'string' ? `: ${detail.slice(0, 100)}` : ''}`,
    );
    return answer;
  }

  private count(kind: keyof Traffic['statuses'], durationMs: number, what: string): void {
    this.requests++;
    this.statuses[kind]++;
    this.latencies.add(durationMs);
    this.recent.add(durationMs);
    if (kind === '5xx' || kind === 'failed') {
      this.recentErrors++;
      this.lastError = what;
    }
  }

  /** One person: look around, perhaps add a book, fill a cart, perhaps buy it. */
  async journey(): Promise<void> {
    this.journeys++;
    await this.call('GET', `${this.storefront}/`, { headers: { accept: 'text/html' } });
    await this.call('GET', `${this.storefront}/config.json`);
    const seen: Candidate[] = [];
    for (const type of itemTypes) seen.push(...(await this.browse(type)));
    const item = pick(seen);
    if (item) {
      await this.call('GET', `${this.apis[item.type]}${collections[item.type]}/${item.id}`);
      await this.call('GET', `${this.apis.inventory}/api/inventory/${item.type}/${item.id}`);
    }
    if (!this.catalogFull && chance(0.2)) await this.createBook();
    await this.shop(seen);
  }

  /** A page of the catalog with the stock of its items, as the storefront shows it; sometimes the next page. */
  private async browse(type: ItemType): Promise<Candidate[]> {
    const base = this.apis[type];
    const page = await this.call('GET', `${base}${collections[type]}`);
    if (page?.status !== 200 || !Array.isArray(page.body)) return [];
    const items: Candidate[] = (page.body as { id: number }[]).map(({ id }) => ({ type, id }));
    const first = items[0];
    if (first) {
      // Stock is listed in type-then-id order: one page from just before the first item covers this page.
      const after = encodeURIComponent(`${type}:${first.id - 1}`);
      const stock = await this.call('GET', `${this.apis.inventory}/api/inventory?after=${after}&limit=100`);
      if (stock?.status === 200 && Array.isArray(stock.body)) {
        const records = stock.body as { type: ItemType; id: number; quantity: number }[];
        const byId = new Map(records.filter((r) => r.type === type).map((r) => [r.id, r.quantity]));
        // An item without a stock record has none to sell.
        for (const candidate of items) candidate.stock = byId.get(candidate.id) ?? 0;
      }
    }
    const next = /<([^>]*)>\s*;\s*rel="next"/.exec(page.headers.get('link') ?? '')?.[1];
    if (next !== undefined && chance(0.3)) {
      const more = await this.call('GET', new URL(next, base).href);
      if (more?.status === 200 && Array.isArray(more.body))
        items.push(...(more.body as { id: number }[]).map(({ id }) => ({ type, id })));
    }
    return items;
  }

  /** The admin's part: a new book, and stock for it, so that carts still find something to buy. */
  private async createBook(): Promise<void> {
    const n = this.booksCreated + 1;
    const created = await this.call('POST', `${this.apis.book}/api/books`, {
      as: 'admin',
      json: {
        title: `Traffic book ${n} (run ${this.run})`,
        author: 'npm run traffic',
        year: 2000 + Math.floor(Math.random() * 26),
        price: (100 + Math.floor(Math.random() * 4900)) / 100,
      },
    });
    // 507: the catalog is at CATALOG_MAX_ITEMS. Asking again would only add 507s, so this run stops creating.
    if (created?.status === 507) this.catalogFull = true;
    const id = (created?.body as { id?: unknown } | undefined)?.id;
    if (created?.status !== 201 || typeof id !== 'number') return;
    this.booksCreated++;
    const stocked = await this.call('PUT', `${this.apis.inventory}/api/inventory/book/${id}`, {
      as: 'admin',
      json: { quantity: 25 },
    });
    if (stocked?.status !== 200) return;
    this.newBooks.push(id);
    if (this.newBooks.length > 20) this.newBooks.shift();
  }

  /** A new cart with 1–3 different items (1 or 2 of each, never more than the stock seen); half are checked out. */
  private async shop(seen: Candidate[]): Promise<void> {
    // Checked out or left open, as the bounds leave room for; neither: no cart this time.
    let checkout = chance(0.5);
    if (checkout && !this.reservations.available()) checkout = false;
    if (!checkout && !this.openCarts.available()) checkout = this.reservations.available();
    if (!checkout && !this.openCarts.available()) {
      this.cartsSkipped++;
      return;
    }
    const inStock = [
      ...seen.filter((c) => c.stock === undefined || c.stock > 0),
      ...this.newBooks.map((id): Candidate => ({ type: 'book', id })),
    ];
    // Out of stock everywhere: a person tries anyway, and the checkout's 409 says so.
    const pool = inStock.length > 0 ? inStock : seen;
    const chosen = new Map<string, Candidate>();
    for (let lines = 1 + Math.floor(Math.random() * 3); lines > 0 && pool.length > 0; lines--) {
      const c = pick(pool) as Candidate;
      chosen.set(`${c.type}:${c.id}`, c);
    }
    if (chosen.size === 0) return;
    const cart = await this.call('POST', `${this.apis.cart}/api/carts`, { as: 'customer' });
    const cartId = (cart?.body as { id?: unknown } | undefined)?.id;
    if (cart?.status !== 201 || typeof cartId !== 'number') return;
    if (!checkout) this.openCarts.take();
    let added = 0;
    for (const c of chosen.values()) {
      const quantity = Math.max(1, Math.min(1 + Math.floor(Math.random() * 2), c.stock ?? 2));
      const line = await this.call('POST', `${this.apis.cart}/api/carts/${cartId}/items`, {
        as: 'customer',
        json: { type: c.type, id: c.id, quantity },
      });
      if (line?.status === 200) added++;
    }
    if (!checkout || added === 0) return;
    // As the storefront sends it: the cart is what makes a checkout idempotent, so a retry buys nothing twice.
    const order = await this.call('POST', `${this.apis.cart}/api/carts/${cartId}/checkout`, {
      as: 'customer',
      headers: { 'Idempotency-Key': String(cartId) },
    });
    if (order?.status === 201 || order?.status === 200) {
      this.orders++;
      this.reservations.take();
    } else if (order?.status === 409) {
      this.outOfStock++;
      this.openCarts.take(); // the cart stays open
    }
  }
}

/** Where every API is, from the storefront's /config.json. */
async function readConfig(storefront: string): Promise<{ apis: Apis; stage: string; tokenUrl?: string }> {
  const response = await fetch(`${storefront}/config.json`, {
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const config = (await response.json()) as {
    apis?: Partial<Apis>;
    stage?: { stage?: string; title?: string };
    auth?: { token?: string };
  };
  const apis = {} as Apis;
  for (const name of [...itemTypes, 'inventory', 'cart'] as const) {
    const url = config.apis?.[name];
    if (typeof url !== 'string') throw new Error(`it names no URL for the ${name} API`);
    apis[name] = url.replace(/\/+$/, '');
  }
  return {
    apis,
    stage: [config.stage?.stage, config.stage?.title].filter(Boolean).join(' · ') || 'the stage',
    // Where to log in, when the stage has a gateway.
    ...(typeof config.auth?.token === 'string' && {
      tokenUrl: new URL(config.auth.token, `${storefront}/`).href,
    }),
  };
}

/** Runs the traffic; every line it has to say goes to `write`. Answers the exit code. */
export async function main(options: TrafficOptions, write: Writer): Promise<number> {
  const { rate, durationS, concurrency, progressMs = 5000, signal } = options;
  const storefront = options.storefront.replace(/\/+$/, '');
  let found;
  try {
    found = await readConfig(storefront);
  } catch (err) {
    write(
      `traffic: found no storefront at ${storefront} (GET /config.json: ${failure(err)}): the stage must be running ` +
        '(npm start, or docker compose up), or say where it is with --storefront',
    );
    return 1;
  }
  const { apis, stage, tokenUrl } = found;
  write(
    `traffic: ${rate} journeys/s, at most ${concurrency} at once, ${durationS > 0 ? `for ${durationS} s` : 'until Ctrl-C'}, ` +
      `against ${stage} at ${storefront}`,
  );
  const traffic = new Traffic(storefront, apis, tokenUrl === undefined ? undefined : new Logins(tokenUrl));
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const elapsedS = () => (performance.now() - started) / 1000;
  let due = 0;
  // Starts follow the clock, not the previous journey: a slow stage gets the same offered load.
  const starter = setInterval(
    () => {
      for (const target = Math.floor(elapsedS() * rate); due < target; due++) {
        if (inFlight.size >= concurrency) {
          traffic.skipped++;
          continue;
        }
        const journey: Promise<void> = traffic
          .journey()
          .catch((err: unknown) => {
            if (!(err instanceof Stopped)) throw err;
          })
          .finally(() => inFlight.delete(journey));
        inFlight.add(journey);
      }
    },
    Math.max(5, Math.min(100, 1000 / rate)),
  );
  const progress = setInterval(() => {
    const errors = traffic.statuses['5xx'] + traffic.statuses.failed;
    write(
      `traffic ${Math.round(elapsedS())}s: ${traffic.journeys} journeys, ${traffic.requests} requests, ` +
        `${ms(traffic.recent.quantile(0.5))} median, ${errors} errors (5xx/failed)` +
        (traffic.recentErrors > 0 ? `; last: ${traffic.lastError}` : ''),
    );
    traffic.recent = new Latencies();
    traffic.recentErrors = 0;
  }, progressMs);
  const stop = () => traffic.halt.abort();
  signal?.addEventListener('abort', stop);
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    if (durationS > 0) timer = setTimeout(resolve, durationS * 1000);
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const ranS = elapsedS();
  clearTimeout(timer);
  clearInterval(starter);
  clearInterval(progress);
  // The journeys in flight end before their next request; their requests in flight finish (or time out),
  // unless the run was stopped with Ctrl-C, which cuts them off.
  traffic.stopping = true;
  await Promise.all(inFlight);
  signal?.removeEventListener('abort', stop);

  const s = traffic.statuses;
  const notes = [
    traffic.skipped > 0 && `${traffic.skipped} journeys not started (${concurrency} in flight)`,
    traffic.cartsSkipped > 0 && `${traffic.cartsSkipped} carts left out to stay below the store's bounds`,
    traffic.catalogFull && "book-api's catalog is full (507): stopped adding books",
  ].filter(Boolean);
  write(
    `traffic ${signal?.aborted ? 'stopped' : 'done'} after ${Math.round(ranS)} s: ${traffic.journeys} journeys, ` +
      `${traffic.requests} requests (${s['2xx']} 2xx, ${s['4xx']} 4xx, ${s['5xx']} 5xx, ${s.failed} failed` +
      `${s.other > 0 ? `, ${s.other} other` : ''}), ${ms(traffic.latencies.quantile(0.5))} median, ` +
      `${ms(traffic.latencies.quantile(0.99))} p99; ${traffic.orders} orders, ${traffic.outOfStock} out of stock, ` +
      `${traffic.booksCreated} books added${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
  );
  if (traffic.requests > 0 && s.failed === traffic.requests) {
    write(
      `traffic: every request failed (last: ${traffic.lastError}); it looked for the storefront at ${storefront} ` +
        `and the APIs its config.json names (${Object.entries(apis)
          .map(([name, url]) => `${name} ${url}`)
          .join(', ')}): ` +
        'the stage must be running (npm start, or docker compose up)',
    );
    return 1;
  }
  return 0;
}

async function cli(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`traffic: ${err.message}`);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }
  // Once: a second Ctrl-C is Node's own, and ends the process even if a request were stuck.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  return main({ ...options, signal: stop.signal }, (line) => console.log(line));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
