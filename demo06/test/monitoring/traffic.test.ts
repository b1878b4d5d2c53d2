import { once } from 'node:events';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseOptions, UsageError } from '../../src/local/traffic.js';
import { storefrontRoutes } from '../../src/services/web/routes.js';
import { freePort, spawnCompiled, waitFor } from '../support/processes.js';
import { startStage, type TestStage } from '../support/stage.js';

/**
 * `npm run traffic` against the stage's APIs started in this process on free ports. The storefront in front of
 * them is the web service's own routes, with a /config.json naming those ports: the real one names the fixed
 * ports of `npm start`, which these tests leave to a running stage.
 */

let stage: TestStage;
let storefront: Server;
let storefrontUrl: string;

beforeAll(async () => {
  stage = await startStage();
  const url = stage.url;
  const app = express();
  app.get('/config.json', (_req, res) => {
    res.json({
      stage: { stage: 'stage-under-test', number: 0, title: 'test' },
      apis: {
        book: url['book-api'],
        cd: url['cd-api'],
        dvd: url['dvd-api'],
        inventory: url['inventory-api'],
        cart: url['shoppingcart-api'],
      },
    });
  });
  app.use(storefrontRoutes());
  storefront = app.listen(0, '127.0.0.1');
  await once(storefront, 'listening');
  const address = storefront.address();
  storefrontUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  storefront?.close();
  await stage?.stop();
});

/** The summary line's figures. */
function summaryOf(lines: string[]) {
  const line = lines.at(-1) ?? '';
  const match =
    /^traffic (done|stopped) after \d+ s: (\d+) journeys, (\d+) requests \((\d+) 2xx, (\d+) 4xx, (\d+) 5xx, (\d+) failed\), [\d.]+ ms median, [\d.]+ ms p99; (\d+) orders, (\d+) out of stock, (\d+) books added/.exec(
      line,
    );
  if (!match) throw new Error(`no summary line last:\n${lines.join('\n')}`);
  const [journeys, requests, ok, client, server, failed, orders, outOfStock, books] = match
    .slice(2)
    .map(Number) as number[];
  return { end: match[1], journeys, requests, ok, client, server, failed, orders, outOfStock, books };
}

async function listAll(base: string, path: string): Promise<any[]> {
  const items: any[] = [];
  for (let next: string | undefined = path; next !== undefined;) {
    const response = await fetch(new URL(next, base));
    items.push(...((await response.json()) as any[]));
    next = /<([^>]*)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
  }
  return items;
}

describe('npm run traffic', () => {
  it('runs journeys for its duration, with progress lines and a summary, and the store shows what they did', async () => {
    const lines: string[] = [];
    const code = await main(
      { rate: 20, durationS: 3, concurrency: 10, storefront: storefrontUrl, progressMs: 1000 },
      (line) => lines.push(line),
    );
    expect(code, lines.join('\n')).toBe(0);
    expect(lines[0]).toMatch(
      /^traffic: 20 journeys\/s, at most 10 at once, for 3 s, against stage-under-test · test at/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^traffic [12]s: \d+ journeys, \d+ requests, [\d.]+ ms median, 0 errors \(5xx\/failed\)$/,
      ),
    );
    const summary = summaryOf(lines);
    expect(summary.end).toBe('done');
    expect(summary.journeys).toBeGreaterThan(30);
    expect(summary.requests).toBeGreaterThan(summary.journeys * 8);
    expect(summary.server).toBe(0);
    expect(summary.failed).toBe(0);
    expect(summary.ok + summary.client).toBe(summary.requests);
    // 3 s at 20 a second: a few dozen journeys, about one in five adds a book and one cart in two is bought.
    expect(summary.books).toBeGreaterThan(0);
    expect(summary.orders).toBeGreaterThan(0);

    // The books are in the catalog, each with the stock it was given.
    const books = (await listAll(stage.url['book-api'], '/api/books?limit=100')).filter((b) =>
      b.title.startsWith('Traffic book '),
    );
    expect(books).toHaveLength(summary.books);
    for (const book of books) {
      const stock = await fetch(`${stage.url['inventory-api']}/api/inventory/book/${book.id}`);
      expect(stock.status).toBe(200);
      expect((await stock.json()).quantity).toBeLessThanOrEqual(25);
    }

    // Carts are numbered from 1: every order is a checked-out cart, within the contract's bounds.
    const carts: any[] = [];
    for (let id = 1; ; id++) {
      const response = await fetch(`${stage.url['shoppingcart-api']}/api/carts/${id}`);
      if (response.status === 404) break;
      carts.push(await response.json());
    }
    expect(carts.length).toBeGreaterThan(0);
    expect(carts.filter((c) => c.status === 'checked-out')).toHaveLength(summary.orders);
    for (const cart of carts) {
      expect(cart.items.length).toBeLessThanOrEqual(3);
      for (const line of cart.items) expect(line.quantity).toBeLessThanOrEqual(2);
    }
  });

  it('says where it looked and exits 1 when no stage answers', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const lines: string[] = [];
    const code = await main({ rate: 5, durationS: 1, concurrency: 5, storefront: nowhere }, (line) =>
      lines.push(line),
    );
    expect(code).toBe(1);
    expect(lines).toEqual([
      `traffic: found no storefront at ${nowhere} (GET /config.json: ECONNREFUSED): the stage must be running ` +
        '(npm start, or docker compose up), or say where it is with --storefront',
    ]);
  });

  it('says where it looked and exits 1 when every request failed (the stage went away after it was found)', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const apis = { book: dead, cd: dead, dvd: dead, inventory: dead, cart: dead };
    // Answers /config.json once, then is gone with everything it named.
    const gone = express()
      .get('/config.json', (_req, res) => {
        res.on('finish', () => gone.closeAllConnections());
        res.json({ apis });
        gone.close();
      })
      .listen(0, '127.0.0.1');
    await once(gone, 'listening');
    const address = gone.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const lines: string[] = [];
    const code = await main({ rate: 10, durationS: 1, concurrency: 5, storefront: url }, (line) =>
      lines.push(line),
    );
    expect(code, lines.join('\n')).toBe(1);
    const summary = summaryOf(lines.slice(0, -1));
    expect(summary.journeys).toBeGreaterThan(0);
    expect(summary.failed).toBe(summary.requests);
    expect(lines.at(-1), lines.join('\n')).toMatch(
      /^traffic: every request failed \(last: [A-Z]+ http:\S+: ECONNREFUSED\); /,
    );
    expect(lines.at(-1)).toContain(
      `; it looked for the storefront at ${url} and the APIs its config.json names (book ${dead}, cd ${dead}, ` +
        `dvd ${dead}, inventory ${dead}, cart ${dead}): the stage must be running (npm start, or docker compose up)`,
    );
  });

  it('reads its options, and refuses bad ones in one sentence', () => {
    expect(parseOptions([])).toEqual({
      rate: 5,
      durationS: 60,
      concurrency: 20,
      storefront: 'http://localhost:9000',
    });
    expect(
      parseOptions([
        '--rate',
        '2.5',
        '--duration=0',
        '--concurrency',
        '3',
        '--storefront',
        'http://pi1:8080/',
      ]),
    ).toEqual({ rate: 2.5, durationS: 0, concurrency: 3, storefront: 'http://pi1:8080' });
    expect(parseOptions(['--help'])).toBe('help');
    for (const [args, message] of [
      [['--rate', '0'], '--rate must be a number from 0.02 to 1000, got "0"'],
      [['--rate', 'fast'], '--rate must be a number from 0.02 to 1000, got "fast"'],
      [['--duration=-1'], '--duration must be a number from 0 to 604800, got "-1"'],
      [['--duration', '-1'], "Option '--duration' argument is ambiguous. Did you forget"],
      [['--concurrency', '2.5'], '--concurrency must be an integer from 1 to 1000, got "2.5"'],
      [['--storefront', 'localhost:8080'], '--storefront must be an http(s) URL'],
      [['--rat', '3'], "Unknown option '--rat' (see --help)"],
      [['--rate'], "Option '--rate <value>' argument missing (see --help)"],
      [['now'], "Unexpected argument 'now' (see --help)"],
    ] as const) {
      expect(() => parseOptions([...args]), args.join(' ')).toThrow(UsageError);
      expect(() => parseOptions([...args])).toThrow(message);
    }
  });

  it('as a command: a bad option is one line and exit 2; Ctrl-C ends the run with its summary and exit 0', async () => {
    const bad = spawnCompiled('dist/local/traffic.js', {}, ['--rate', 'fast']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toBe('traffic: --rate must be a number from 0.02 to 1000, got "fast"\n');

    const run = spawnCompiled('dist/local/traffic.js', {}, [
      '--rate=10',
      '--duration=0',
      '--storefront',
      storefrontUrl,
    ]);
    try {
      await waitFor('the first journeys', () => run.output().includes('until Ctrl-C'), 10_000, run.output);
      await new Promise((r) => setTimeout(r, 1500));
      run.child.kill('SIGINT');
      expect(await run.exited, run.output()).toBe(0);
    } finally {
      run.killAll();
    }
    const summary = summaryOf(run.output().trimEnd().split('\n'));
    expect(summary.end).toBe('stopped');
    expect(summary.journeys).toBeGreaterThan(5);
    expect(summary.server + summary.failed).toBe(0);
  });
});
