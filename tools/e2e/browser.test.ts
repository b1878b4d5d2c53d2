/**
 * The storefront, as a person uses it: Debian's Chromium driven by playwright-core against a stage that is
 * already running (the harness starts it). Screenshots go to .test-output/<stage>/.
 *
 *   STOREFRONT_URL=http://localhost:8080 STAGE=demo01 npx vitest run tools/e2e/browser.test.ts
 *
 * Any console error, uncaught exception, failed request or HTTP error answer in the page fails the test, except
 * an answer the test provokes on purpose and names beforehand (`expectAnswer`: a wrong password's 401).
 *
 * From demo06 on the storefront comes through the gateway (STOREFRONT_URL=http://localhost:9000): every API is
 * on the page's origin, a visitor browses, a customer logs in to shop and an admin to add items.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
  type Request,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stageNumber } from '../bench/paths.ts';
import { type DemoUser, demoUsers, gatewayToken } from '../lib/gateway-login.ts';
import { storefrontUrl } from '../lib/ports.ts';
import { repoRoot } from '../stage/stages.ts';

const STOREFRONT_URL = process.env.STOREFRONT_URL ?? storefrontUrl;
const STAGE = process.env.STAGE ?? 'demo01';
const CHROMIUM = '/usr/bin/chromium';
const outDir = join(repoRoot(), '.test-output', STAGE);
/** The stage has a gateway: users log in, and the APIs are on the storefront's origin. */
const GATEWAY = stageNumber(STAGE) >= 6;

const TYPES = ['book', 'cd', 'dvd'] as const;
type ItemType = (typeof TYPES)[number];
const STOCK_TEXT = /^(in stock \((\d+)\)|out of stock)$/;

let browser: Browser;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(outDir)) {
    if (file.startsWith('failure-')) rmSync(join(outDir, file)); // left by an earlier run
  }
  try {
    const res = await fetch(new URL('config.json', STOREFRONT_URL), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`GET config.json answered HTTP ${res.status}`);
  } catch (error) {
    throw new Error(
      `the storefront is not reachable at ${STOREFRONT_URL} (${(error as Error).message}). ` +
        'Start the stage first (e.g. `cd demo01 && npm start`) or set STOREFRONT_URL.',
      { cause: error },
    );
  }
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    throw new Error(
      `could not start ${CHROMIUM} (install Debian's chromium package): ${(error as Error).message}`,
      { cause: error },
    );
  }
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

/** An error answer a scenario provokes on purpose, and how often it came. */
interface ExpectedAnswer {
  status: number;
  method: string;
  /** The URL's path, e.g. /auth/token */
  path: string;
  seen: number;
}

interface Session {
  context: BrowserContext;
  page: Page;
  /** Everything that went wrong in the browser: console errors, exceptions, failed requests, HTTP errors. */
  problems: string[];
  /** The error answers named by `expectAnswer`: not problems, and each must have come. */
  expected: ExpectedAnswer[];
  /** Names an error answer the scenario is about to provoke, so that it is not counted as a problem. */
  expectAnswer(status: number, method: string, path: string): void;
}

/** Chromium's console line for an error answer, e.g. "… the server responded with a status of 401 …". */
const ERROR_ANSWER = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

/** A fresh browser profile (so a fresh cart) with the storefront loaded and its catalogs and stock shown. */
async function openStorefront(): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const expected: ExpectedAnswer[] = [];
  // Chromium's console line names no method: a status and a path are enough to tell it.
  const expectedAt = (status: number, url: string, method?: string) =>
    expected.find(
      (e) =>
        e.status === status &&
        URL.canParse(url) &&
        e.path === new URL(url).pathname &&
        (method === undefined || e.method === method),
    );
  page.on('console', (msg) => {
    const status = ERROR_ANSWER.exec(msg.text())?.[1];
    if (status !== undefined && expectedAt(Number(status), msg.location().url)) return;
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} [${msg.location().url}]`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception in the page: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) {
      const wanted = expectedAt(response.status(), response.url(), response.request().method());
      if (wanted) wanted.seen++;
      else problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  await page.goto(STOREFRONT_URL);
  const expectAnswer = (status: number, method: string, path: string) => {
    expected.push({ status, method, path, seen: 0 });
  };
  return { context, page, problems, expected, expectAnswer };
}

/** Runs one scenario; on failure saves a screenshot and adds what the browser and the page's banner said. */
async function withStorefront(name: string, scenario: (session: Session) => Promise<void>): Promise<void> {
  const session = await openStorefront();
  try {
    await scenario(session);
    await session.page.waitForLoadState('networkidle');
    expect(session.problems, `the browser reported problems:\n  ${session.problems.join('\n  ')}`).toEqual(
      [],
    );
    const missing = session.expected
      .filter((e) => e.seen === 0)
      .map((e) => `${e.status} ${e.method} ${e.path}`);
    expect(missing, 'answers the scenario should have provoked').toEqual([]);
  } catch (error) {
    const screenshot = join(outDir, `failure-${name}.png`);
    await session.page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    const banner = await bannerText(session.page);
    const notes = [
      banner ? `the page's message banner says: ${banner}` : '',
      session.problems.length > 0 ? `browser problems:\n  ${session.problems.join('\n  ')}` : '',
      `screenshot: ${screenshot}`,
    ].filter(Boolean);
    if (error instanceof Error) error.message = `${error.message}\n${notes.join('\n')}`;
    throw error;
  } finally {
    await session.context.close();
  }
}

async function bannerText(page: Page): Promise<string> {
  const text = page.getByTestId('message-banner').locator('.banner-text');
  if ((await text.count()) === 0) return '';
  const lines = await text.first().locator('li').allTextContents();
  return lines.length > 0 ? lines.join(' / ') : ((await text.first().textContent()) ?? '').trim();
}

async function expectNoErrorBanner(page: Page): Promise<void> {
  const text = await bannerText(page);
  const kind = text ? await page.getByTestId('message-banner').first().getAttribute('data-kind') : null;
  expect(kind === 'error' ? text : '', 'the page shows an error message').toBe('');
}

/** Selects a catalog tab and waits until its cards carry their stock. */
/** Checks the cart out: the confirmation, with an order id and no error banner. */
async function checkOut(page: Page): Promise<Locator> {
  await page.getByTestId('checkout').click();
  const confirmation = page.getByTestId('confirmation');
  await confirmation.waitFor().catch(async () => {
    throw new Error(`no order confirmation after checkout; banner: ${await bannerText(page)}`);
  });
  await expectNoErrorBanner(page);
  const orderId = ((await page.getByTestId('order-id').textContent()) ?? '').trim();
  expect(orderId, 'order id on the confirmation').toMatch(/^\S+$/);
  return confirmation;
}

async function showCatalog(page: Page, type: ItemType): Promise<Locator> {
  await page.getByTestId(`tab-${type}`).click();
  const panel = page.getByTestId(`catalog-${type}`);
  await expect
    .poll(() => panel.isVisible(), { message: `the ${type} catalog is not visible`, timeout: 15_000 })
    .toBe(true);
  const cards = panel.locator(`[data-testid^="item-${type}-"]`);
  await cards
    .first()
    .waitFor()
    .catch(async () => {
      throw new Error(
        `no ${type} cards appeared; the ${type} panel says: ${(await panel.textContent())?.trim()}`,
      );
    });
  // Done when every badge shows stock, or as soon as the page reports a problem (then say which).
  await page.waitForFunction(
    (t) =>
      document.querySelector('[data-testid="message-banner"][data-kind="error"]') !== null ||
      [...document.querySelectorAll(`[data-testid^="stock-${t}-"]`)].every(
        (badge) => badge.classList.contains('stock-in') || badge.classList.contains('stock-out'),
      ),
    type,
  );
  await expectNoErrorBanner(page);
  return cards;
}

async function stockOf(page: Page, type: ItemType, id: string): Promise<number> {
  const text = ((await page.getByTestId(`stock-${type}-${id}`).textContent()) ?? '').trim();
  const match = STOCK_TEXT.exec(text);
  if (!match) throw new Error(`the stock badge of ${type} ${id} says "${text}"`);
  return match[2] === undefined ? 0 : Number(match[2]);
}

function stockText(quantity: number): string {
  return quantity > 0 ? `in stock (${quantity})` : 'out of stock';
}

// --- the gateway's users (demo06 on) ----------------------------------------------------------------------------

/** The demo users the stage's README prints. */
const USERS = demoUsers;
type UserName = DemoUser;

/** Where the storefront keeps who is logged in, and each customer's cart id (sessionStorage). */
const SESSION_KEY = 'pie-store.session';
const cartKey = (user: UserName) => `pie-store.cartId.${user}`;

const tokens = new Map<UserName, Promise<string>>();

/** A token of a demo user, for the test's own calls through the gateway: one log-in per user and run. */
function tokenOf(user: UserName): Promise<string> {
  let token = tokens.get(user);
  if (!token) {
    token = gatewayToken(STOREFRONT_URL, user);
    tokens.set(user, token);
  }
  return token;
}

/** A call through the gateway as the demo admin (the test's own clean-up). */
async function asAdmin(method: string, path: string): Promise<void> {
  const res = await fetch(new URL(path, STOREFRONT_URL), {
    method,
    headers: { authorization: `Bearer ${await tokenOf('admin')}` },
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
}

/** Logs in through the page's form, and waits until the header names the user. */
async function logIn(page: Page, user: UserName): Promise<void> {
  await page.getByTestId('login-username').fill(user);
  await page.getByTestId('login-password').fill(USERS[user].password);
  await page.getByTestId('login-submit').click();
  await page
    .getByTestId('account')
    .waitFor()
    .catch(async () => {
      throw new Error(`${user} is not shown as logged in; the page's banner says: ${await bannerText(page)}`);
    });
  expect((await page.getByTestId('user-name').textContent())?.trim()).toBe(user);
  expect((await page.getByTestId('user-role').textContent())?.trim()).toBe(USERS[user].role);
  await expectNoErrorBanner(page);
}

/** What the side of the page shows: the log-in form, the cart, the admin form (each true when visible). */
async function sideOf(page: Page): Promise<{ login: boolean; cart: boolean; admin: boolean }> {
  return {
    login: await page.getByTestId('login-panel').isVisible(),
    cart: await page.getByTestId('cart-panel').isVisible(),
    admin: await page.getByTestId('admin-panel').isVisible(),
  };
}

/** The token-shaped text the page keeps: only its payload's `exp` is read there, so no signature is needed. */
function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('not signed').toString('base64url')}`;
}

/** The first item of a catalog that can be bought, with what its card says. */
async function firstInStock(page: Page, type: ItemType) {
  await showCatalog(page, type);
  const add = page.locator(`[data-testid^="add-${type}-"]:enabled`).first();
  if ((await add.count()) === 0) throw new Error(`no ${type} is in stock: nothing to buy`);
  const id = ((await add.getAttribute('data-testid')) ?? '').slice(`add-${type}-`.length);
  const card = page.getByTestId(`item-${type}-${id}`);
  return {
    type,
    id,
    label: ((await add.textContent()) ?? '').trim(),
    title: ((await card.locator('.card-title').textContent()) ?? '').trim(),
    price: Number(await card.getAttribute('data-price')),
    stock: await stockOf(page, type, id),
  };
}

describe(`storefront of ${STAGE} at ${STOREFRONT_URL}`, () => {
  test('shows the stage and the three catalogs, every item with its stock', async () => {
    await withStorefront('catalogs', async ({ page }) => {
      await expect.poll(() => page.getByTestId('stage').textContent(), { timeout: 10_000 }).toContain(STAGE);

      for (const type of TYPES) {
        const cards = await showCatalog(page, type);
        const count = await cards.count();
        expect(count, `${type} cards`).toBeGreaterThan(0);
        for (let i = 0; i < count; i++) {
          const card = cards.nth(i);
          const testId = (await card.getAttribute('data-testid')) ?? '';
          const id = testId.slice(`item-${type}-`.length);
          expect(
            (await card.locator('.card-title').textContent())?.trim(),
            `title of ${testId}`,
          ).toBeTruthy();
          expect(await card.getAttribute('data-price'), `price of ${testId}`).toMatch(/^\d+(\.\d{1,2})?$/);
          const stock = await stockOf(page, type, id);
          expect(await page.getByTestId(`add-${type}-${id}`).isDisabled(), `add button of ${testId}`).toBe(
            stock === 0,
          );
        }
      }

      // The footer names the instance that served the last response (CORS must expose X-Served-By).
      await expect
        .poll(() => page.getByTestId('served-by').textContent(), {
          message: 'the footer shows no X-Served-By value (is the header exposed via CORS?)',
          timeout: 10_000,
        })
        .toMatch(/^\S+\/\S+$/);
      await expectNoErrorBanner(page);

      await showCatalog(page, 'book');
      await page.screenshot({ path: join(outDir, 'storefront.png'), fullPage: true });
    });
  }, 60_000);

  test('an out-of-stock item cannot be added to the cart', async () => {
    await withStorefront('out-of-stock', async ({ page }) => {
      const found: string[] = [];
      for (const type of TYPES) {
        await showCatalog(page, type);
        const soldOut = page.locator(`[data-testid^="stock-${type}-"]`, { hasText: /^out of stock$/ });
        for (let i = 0; i < (await soldOut.count()); i++) {
          const id = ((await soldOut.nth(i).getAttribute('data-testid')) ?? '').slice(
            `stock-${type}-`.length,
          );
          const add = page.getByTestId(`add-${type}-${id}`);
          expect(await add.isDisabled(), `the add button of out-of-stock ${type} ${id} is enabled`).toBe(
            true,
          );
          found.push(`${type} ${id}`);
        }
      }
      expect(
        found.length,
        'no item is out of stock, but inventory-api seeds some items at 0',
      ).toBeGreaterThan(0);
    });
  }, 60_000);

  test('pages through a catalog with "Show more", each page with its stock', async () => {
    const apis = (await (await fetch(new URL('config.json', STOREFRONT_URL))).json()).apis as Record<
      string,
      string
    >;
    // Through the gateway the APIs are on the storefront's origin ("" in config.json), and changes need an admin.
    const auth: Record<string, string> = GATEWAY ? { authorization: `Bearer ${await tokenOf('admin')}` } : {};
    const send = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(new URL(url, STOREFRONT_URL), {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${await res.text()}`);
      return res.status === 204 ? undefined : res.json();
    };
    // Enough CDs for a second page (20 per page), one of them with stock.
    const created: number[] = [];
    for (let i = 0; i < 25; i++) {
      const cd = await send('POST', `${apis.cd}/api/cds`, {
        title: `Paging test ${String(i).padStart(2, '0')}`,
        artist: 'The Pagers',
        year: 2020,
        price: 5,
      });
      created.push(cd.id);
    }
    const stocked = created.at(-1) as number;
    await send('PUT', `${apis.inventory}/api/inventory/cd/${stocked}`, { quantity: 4 });
    try {
      await withStorefront('paging', async ({ page }) => {
        let cards = await showCatalog(page, 'cd');
        expect(await cards.count()).toBe(20);
        expect((await page.getByTestId('count-cd').textContent())?.trim()).toBe('20+');
        while ((await page.getByTestId('more-cd').count()) > 0) {
          const before = await cards.count();
          await page.getByTestId('more-cd').click();
          await expect.poll(() => cards.count(), { timeout: 10_000 }).toBeGreaterThan(before);
          cards = await showCatalog(page, 'cd');
        }
        const ids = await cards.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-id'))));
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of created) expect(ids).toContain(id);
        expect(await stockOf(page, 'cd', String(stocked))).toBe(4);
        expect(await stockOf(page, 'cd', String(created[0]))).toBe(0);
        await page.getByTestId(`item-cd-${stocked}`).scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(outDir, 'paging.png'), fullPage: true });
      });
    } finally {
      for (const id of created) await send('DELETE', `${apis.cd}/api/cds/${id}`);
    }
  }, 90_000);

  test("the API page renders every service's OpenAPI document", async () => {
    await withStorefront('api', async ({ page }) => {
      // Leave the storefront once it has loaded: requests cut short by leaving would count as failures.
      await page.waitForLoadState('networkidle');
      await page.getByTestId('api-link').click();
      const buttons = page.locator('[data-testid^="api-service-"]');
      await buttons.first().waitFor();
      const services = await buttons.evaluateAll((els) => els.map((el) => el.getAttribute('data-service')));
      expect(services).toEqual([
        'web',
        'book-api',
        'cd-api',
        'dvd-api',
        'number-api',
        'inventory-api',
        'shoppingcart-api',
        ...(GATEWAY ? ['gateway'] : []),
      ]);
      for (const service of [...services.slice(1), services[0]] as string[]) {
        await page.getByTestId(`api-service-${service}`).click();
        // The page marks a document rendered once Swagger UI has fetched it from its service and drawn it.
        const rendered = page.locator(`[data-testid="api-doc"][data-rendered="${service}"]`);
        await rendered.waitFor().catch(async () => {
          throw new Error(
            `${service}'s document was not rendered; the page says: ${await page.textContent('main')}`,
          );
        });
        expect(await rendered.locator('.info .title').textContent()).toContain(service);
        expect(await rendered.locator('.opblock').count(), `operations shown for ${service}`).toBeGreaterThan(
          2,
        );
      }
      await page.getByTestId('api-service-book-api').click();
      await page.locator('[data-testid="api-doc"][data-rendered="book-api"]').waitFor();
      await page.screenshot({ path: join(outDir, 'api.png'), fullPage: true });
    });
  }, 90_000);

  // From demo06 on only a logged-in customer has a cart: the tests below, for the gateway, shop as alice.
  test.runIf(!GATEWAY)(
    'adds an in-stock book, checks out, and the book has one less in stock',
    async () => {
      await withStorefront('checkout', async ({ page }) => {
        await showCatalog(page, 'book');
        const add = page.locator('[data-testid^="add-book-"]:enabled').first();
        if ((await add.count()) === 0) throw new Error('no book is in stock: nothing to buy');
        const id = ((await add.getAttribute('data-testid')) ?? '').slice('add-book-'.length);
        const card = page.getByTestId(`item-book-${id}`);
        const price = Number(await card.getAttribute('data-price'));
        const before = await stockOf(page, 'book', id);
        expect(before).toBeGreaterThan(0);

        await add.click();
        await page.getByTestId(`cart-line-book-${id}`).waitFor();
        await expectNoErrorBanner(page);
        expect((await page.getByTestId(`cart-qty-book-${id}`).textContent())?.trim()).toBe('1');
        expect(Number(await page.getByTestId('cart-total').getAttribute('data-value'))).toBeCloseTo(price, 2);
        // Adding does not reserve anything yet.
        expect(await stockOf(page, 'book', id)).toBe(before);

        // The cart id is kept in localStorage: a reload shows the same cart.
        await page.waitForLoadState('networkidle');
        await page.reload();
        await page.getByTestId(`cart-line-book-${id}`).waitFor();
        await showCatalog(page, 'book');
        expect(Number(await page.getByTestId('cart-total').getAttribute('data-value'))).toBeCloseTo(price, 2);
        await page.screenshot({ path: join(outDir, 'cart.png'), fullPage: true });

        const confirmation = await checkOut(page);
        expect(await confirmation.textContent()).toContain(
          ((await card.locator('.card-title').textContent()) ?? '').trim(),
        );

        // Stock is refreshed after checkout: the badge of that book went down by one.
        await expect
          .poll(async () => (await page.getByTestId(`stock-book-${id}`).textContent())?.trim(), {
            message: `stock badge of book ${id} after checkout (was ${before})`,
            timeout: 10_000,
          })
          .toBe(stockText(before - 1));
        expect(await page.getByTestId(`add-book-${id}`).isDisabled()).toBe(before - 1 === 0);
        await page.screenshot({ path: join(outDir, 'confirmation.png'), fullPage: true });

        // The order is done: the cart is no longer remembered, so shopping on starts a new cart.
        expect(await page.evaluate(() => localStorage.getItem('pie-store.cartId'))).toBeNull();
      });
    },
    90_000,
  );

  // --- through the gateway: log-in, roles, a cart per customer (demo06 on) ------------------------------------

  // Registered only where there is a gateway, so the earlier stages' runs stay as they were.
  if (GATEWAY) {
    describe('logged in through the gateway', () => {
      test('a visitor browses the catalogs and their stock, sends no token and has no cart', async () => {
        await withStorefront('visitor', async ({ page }) => {
          const sent: string[] = [];
          page.on('request', (request) => {
            const carts = new URL(request.url()).pathname.startsWith('/api/carts');
            if (carts || request.headers().authorization !== undefined)
              sent.push(`${request.method()} ${request.url()}`);
          });
          await page.waitForLoadState('networkidle');
          await page.reload();
          for (const type of TYPES) {
            const cards = await showCatalog(page, type);
            expect(await cards.count(), `${type} cards`).toBeGreaterThan(0);
          }
          expect(await sideOf(page)).toEqual({ login: true, cart: false, admin: false });
          expect(await page.getByTestId('account').isVisible(), 'a user in the header').toBe(false);
          expect(await page.getByTestId('checkout').count()).toBe(0);

          // An item in stock asks the visitor to log in, and takes them to the form.
          const item = await firstInStock(page, 'book');
          expect(item.label).toBe('Log in to shop');
          await page.getByTestId(`add-book-${item.id}`).click();
          expect(await bannerText(page)).toMatch(/^Log in to shop/);
          expect(
            await page.getByTestId('login-username').evaluate((el) => el === document.activeElement),
          ).toBe(true);
          await page.waitForLoadState('networkidle');
          expect(sent, 'requests with a token, or for a cart').toEqual([]);
        });
      }, 60_000);

      test('alice logs in, sees her name and role, buys two items, and their stock goes down', async () => {
        await withStorefront('customer', async ({ page }) => {
          await showCatalog(page, 'book');
          await logIn(page, 'alice');
          expect(await sideOf(page)).toEqual({ login: false, cart: true, admin: false });
          const calls: Request[] = [];
          page.on('request', (request) => {
            if (new URL(request.url()).pathname.startsWith('/api/')) calls.push(request);
          });

          const items = [await firstInStock(page, 'book'), await firstInStock(page, 'cd')];
          for (const item of items) {
            expect(item.label).toBe('Add to cart');
            await showCatalog(page, item.type);
            await page.getByTestId(`add-${item.type}-${item.id}`).click();
            await page.getByTestId(`cart-line-${item.type}-${item.id}`).waitFor();
            await expectNoErrorBanner(page);
            // Adding does not reserve anything yet.
            expect(await stockOf(page, item.type, item.id)).toBe(item.stock);
          }
          const total = items.reduce((sum, item) => sum + item.price, 0);
          expect(Number(await page.getByTestId('cart-total').getAttribute('data-value'))).toBeCloseTo(
            total,
            2,
          );
          expect(calls.length, 'API calls after the log-in').toBeGreaterThan(0);
          for (const call of calls) {
            expect(call.headers().authorization, `${call.method()} ${call.url()}`).toMatch(/^Bearer \S+$/);
          }

          // The log-in and the cart outlive a reload of the tab (sessionStorage), the cart under alice's name.
          await page.waitForLoadState('networkidle');
          await page.reload();
          for (const item of items) await page.getByTestId(`cart-line-${item.type}-${item.id}`).waitFor();
          expect((await page.getByTestId('user-name').textContent())?.trim()).toBe('alice');
          expect(await page.evaluate((key) => sessionStorage.getItem(key), cartKey('alice'))).toMatch(
            /^\d+$/,
          );
          await showCatalog(page, 'book');
          await page.screenshot({ path: join(outDir, 'login.png'), fullPage: true });

          const confirmation = await checkOut(page);
          for (const item of items) {
            expect(await confirmation.textContent()).toContain(item.title);
            await expect
              .poll(
                async () => (await page.getByTestId(`stock-${item.type}-${item.id}`).textContent())?.trim(),
                {
                  message: `stock badge of ${item.type} ${item.id} after checkout (was ${item.stock})`,
                  timeout: 10_000,
                },
              )
              .toBe(stockText(item.stock - 1));
          }
          await page.screenshot({ path: join(outDir, 'confirmation.png'), fullPage: true });
          // The order is done: alice's cart is no longer remembered, so shopping on starts a new one.
          expect(await page.evaluate((key) => sessionStorage.getItem(key), cartKey('alice'))).toBeNull();
        });
      }, 90_000);

      test('an admin adds a DVD through the form, and it appears in the catalog with its stock', async () => {
        const title = `Gateway demo ${Date.now()}`;
        let id: number | undefined;
        try {
          await withStorefront('admin', async ({ page }) => {
            await showCatalog(page, 'book');
            await logIn(page, 'admin');
            expect(await sideOf(page)).toEqual({ login: false, cart: false, admin: true });
            expect(
              await page.locator('[data-testid^="add-"]').count(),
              'add-to-cart buttons for an admin',
            ).toBe(0);

            await page.getByTestId('admin-type').selectOption('dvd');
            await page.getByTestId('admin-title').fill(title);
            await page.getByTestId('admin-director').fill('Ada Director');
            await page.getByTestId('admin-duration').fill('95');
            await page.getByTestId('admin-year').fill('2024');
            await page.getByTestId('admin-price').fill('12.5');
            await page.getByTestId('admin-stock').fill('3');
            const created = page.waitForResponse(
              (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/dvds',
            );
            await page.getByTestId('admin-submit').click();
            const answer = await created;
            expect(answer.status()).toBe(201);
            id = ((await answer.json()) as { id: number }).id;

            const card = page.getByTestId(`item-dvd-${id}`);
            await card.waitFor();
            expect(await page.getByTestId('catalog-dvd').isVisible(), 'the DVD catalog is shown').toBe(true);
            expect((await card.locator('.card-title').textContent())?.trim()).toBe(title);
            expect(await card.getAttribute('data-price')).toBe('12.5');
            await expect
              .poll(async () => (await page.getByTestId(`stock-dvd-${id}`).textContent())?.trim(), {
                message: 'stock badge of the new DVD',
                timeout: 10_000,
              })
              .toBe(stockText(3));
            expect(await page.getByTestId('message-banner').getAttribute('data-kind')).toBe('success');
            expect(await bannerText(page)).toContain(title);
            // From the top, where the message and the form are (the page scrolled to the new card).
            await page.evaluate(() => window.scrollTo(0, 0));
            await page.screenshot({ path: join(outDir, 'admin.png'), fullPage: true });
          });
        } finally {
          if (id !== undefined) await asAdmin('DELETE', `/api/dvds/${id}`);
        }
      }, 90_000);

      test('a wrong password shows the message and logs nobody in', async () => {
        await withStorefront('wrong-password', async (session) => {
          const { page } = session;
          await showCatalog(page, 'book');
          session.expectAnswer(401, 'POST', '/auth/token');
          await page.getByTestId('login-username').fill('alice');
          await page.getByTestId('login-password').fill('not-alices-password');
          await page.getByTestId('login-submit').click();
          await page.getByTestId('message-banner').waitFor();
          expect(await page.getByTestId('message-banner').getAttribute('data-kind')).toBe('error');
          expect(await bannerText(page)).toBe('The user name or password is wrong');
          expect(await page.getByTestId('account').isVisible(), 'a user in the header').toBe(false);
          expect(await sideOf(page)).toEqual({ login: true, cart: false, admin: false });
          expect(await page.getByTestId('login-password').inputValue(), 'the password field').toBe('');
          expect(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY)).toBeNull();
        });
      }, 60_000);

      test("logging out hides the cart, and the next customer does not get the last one's", async () => {
        await withStorefront('log-out', async ({ page }) => {
          await showCatalog(page, 'book');
          await logIn(page, 'alice');
          const item = await firstInStock(page, 'book');
          await page.getByTestId(`add-book-${item.id}`).click();
          await page.getByTestId(`cart-line-book-${item.id}`).waitFor();

          await page.getByTestId('logout').click();
          expect(await page.getByTestId('account').isVisible(), 'a user in the header').toBe(false);
          expect(await sideOf(page)).toEqual({ login: true, cart: false, admin: false });
          expect(await bannerText(page)).toBe('You are logged out');
          expect(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY)).toBeNull();
          expect((await page.getByTestId(`add-book-${item.id}`).textContent())?.trim()).toBe(
            'Log in to shop',
          );

          // The cart was alice's: bob, logging in on the same tab, starts with an empty one.
          await logIn(page, 'bob');
          await page.getByTestId('cart-empty').waitFor();
          expect(await page.getByTestId(`cart-line-book-${item.id}`).count()).toBe(0);
          // bob's own cart takes the book, and gives it back.
          await page.getByTestId(`add-book-${item.id}`).click();
          await page.getByTestId(`cart-line-book-${item.id}`).waitFor();
          await page.getByTestId(`remove-book-${item.id}`).click();
          await page.getByTestId('cart-empty').waitFor();
          await expectNoErrorBanner(page);
        });
      }, 60_000);

      test('the gateway refuses what a role may not do, whatever the page shows (403)', async () => {
        await withStorefront('forbidden', async (session) => {
          const { page } = session;
          await showCatalog(page, 'book');
          await logIn(page, 'alice');
          // The page shows the role the log-in named; make it say admin: the token still says customer.
          await page.evaluate((key) => {
            const stored = JSON.parse(sessionStorage.getItem(key) ?? '{}');
            sessionStorage.setItem(
              key,
              JSON.stringify({ ...stored, user: { ...stored.user, role: 'admin' } }),
            );
          }, SESSION_KEY);
          await page.waitForLoadState('networkidle');
          await page.reload();
          await page.getByTestId('admin-panel').waitFor();

          session.expectAnswer(403, 'POST', '/api/books');
          const title = `Not for customers ${Date.now()}`;
          await page.getByTestId('admin-title').fill(title);
          await page.getByTestId('admin-author').fill('A. Customer');
          await page.getByTestId('admin-year').fill('2020');
          await page.getByTestId('admin-price').fill('1');
          await page.getByTestId('admin-submit').click();
          await page.getByTestId('message-banner').waitFor();
          expect(await page.getByTestId('message-banner').getAttribute('data-kind')).toBe('error');
          expect(await bannerText(page)).toMatch(/^Your role may not do this\b/);
          expect(
            await page.locator('.card-title', { hasText: title }).count(),
            'a card of the refused book',
          ).toBe(0);
        });
      }, 60_000);

      test('an expired session is dropped with a message, and never sent', async () => {
        await withStorefront('expired', async ({ page }) => {
          await showCatalog(page, 'book');
          const sent: string[] = [];
          page.on('request', (request) => {
            if (request.headers().authorization !== undefined)
              sent.push(`${request.method()} ${request.url()}`);
          });
          const keep = (token: string) =>
            page.evaluate(
              ([key, accessToken]) =>
                sessionStorage.setItem(
                  key,
                  JSON.stringify({ accessToken, user: { name: 'alice', role: 'customer' } }),
                ),
              [SESSION_KEY, token] as const,
            );

          // Expired a minute ago, when this tab last showed the store: dropped before any request.
          await keep(
            unsignedToken({ sub: 'alice', role: 'customer', exp: Math.floor(Date.now() / 1000) - 60 }),
          );
          await page.waitForLoadState('networkidle');
          await page.reload();
          await page.getByTestId('message-banner').waitFor();
          expect(await bannerText(page)).toBe('Your session expired, please log in again');
          expect(await page.getByTestId('account').isVisible(), 'a user in the header').toBe(false);
          expect(await sideOf(page)).toEqual({ login: true, cart: false, admin: false });
          expect(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY)).toBeNull();
          await showCatalog(page, 'book');
          await page.waitForLoadState('networkidle');
          expect(sent, 'requests with the expired token').toEqual([]);

          // Expiring while the page is open: the page says so on time, and shows the log-in form again. (Until
          // then its catalog reads carry the token, which the gateway reads only where a route needs one.)
          await keep(
            unsignedToken({ sub: 'alice', role: 'customer', exp: Math.floor(Date.now() / 1000) + 3 }),
          );
          await page.reload();
          await page.getByTestId('account').waitFor();
          await expect
            .poll(() => bannerText(page), {
              message: 'the message when the session expires',
              timeout: 10_000,
            })
            .toBe('Your session expired, please log in again');
          expect(await page.getByTestId('account').isVisible(), 'a user in the header').toBe(false);
          expect(await sideOf(page)).toEqual({ login: true, cart: false, admin: false });
        });
      }, 60_000);
    });
  }
});
