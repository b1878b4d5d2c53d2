/**
 * The storefront, as a person uses it: Debian's Chromium driven by playwright-core against a stage that is
 * already running (the harness starts it). Screenshots go to .test-output/<stage>/.
 *
 *   STOREFRONT_URL=http://localhost:8080 STAGE=demo01 npx vitest run tools/e2e/browser.test.ts
 *
 * Any console error, uncaught exception, failed request or HTTP error answer in the page fails the test.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { storefrontUrl } from '../lib/ports.ts';
import { repoRoot } from '../stage/stages.ts';

const STOREFRONT_URL = process.env.STOREFRONT_URL ?? storefrontUrl;
const STAGE = process.env.STAGE ?? 'demo01';
const CHROMIUM = '/usr/bin/chromium';
const outDir = join(repoRoot(), '.test-output', STAGE);

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

interface Session {
  context: BrowserContext;
  page: Page;
  /** Everything that went wrong in the browser: console errors, exceptions, failed requests, HTTP errors. */
  problems: string[];
}

/** A fresh browser profile (so a fresh cart) with the storefront loaded and its catalogs and stock shown. */
async function openStorefront(): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} [${msg.location().url}]`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception in the page: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  await page.goto(STOREFRONT_URL);
  return { context, page, problems };
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
async function showCatalog(page: Page, type: ItemType): Promise<Locator> {
  await page.getByTestId(`tab-${type}`).click();
  const panel = page.getByTestId(`catalog-${type}`);
  await expect
    .poll(() => panel.isVisible(), { message: `the ${type} catalog is not visible`, timeout: 5000 })
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
    const send = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
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

  test('adds an in-stock book, checks out, and the book has one less in stock', async () => {
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

      await page.getByTestId('checkout').click();
      const confirmation = page.getByTestId('confirmation');
      await confirmation.waitFor().catch(async () => {
        throw new Error(`no order confirmation after checkout; banner: ${await bannerText(page)}`);
      });
      await expectNoErrorBanner(page);
      const orderId = ((await page.getByTestId('order-id').textContent()) ?? '').trim();
      expect(orderId, 'order id on the confirmation').toMatch(/^\S+$/);
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
  }, 90_000);
});
