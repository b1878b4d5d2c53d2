/** Everything that writes to the page. State lives in main.ts and cart.ts; these functions only draw it. */
import type { StockMap } from './catalog.js';
import { stockKey, TYPE_LABELS } from './catalog.js';
import { byTestId, h, replaceChildren } from './dom.js';
import type { Cart, CatalogItem, ItemType, Order, StoreApi, StageInfo, StoreConfig, User } from './types.js';
import { STORE_APIS } from './types.js';

const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

export function formatMoney(amount: number): string {
  return money.format(amount);
}

// --- header ---------------------------------------------------------------------------------------------------

export function renderStage(stage: StageInfo): void {
  const text = [stage.stage, stage.title].filter(Boolean).join(' · ');
  byTestId('stage').textContent = text || 'the store';
  document.title = text ? `${text} — Pi(e) Store` : 'Pi(e) Store';
}

/** Who is logged in (as the log-in answer named them), with the log-out button; nothing for a visitor. */
export function renderAccount(user: User | null): void {
  byTestId('account').hidden = user === null;
  byTestId('user-name').textContent = user?.name ?? '';
  byTestId('user-role').textContent = user?.role ?? '';
}

/** The side of the page: the log-in form for a visitor, the cart for a customer, the admin form for an admin. */
export function renderSide(user: User | null): void {
  byTestId('login-panel').hidden = user !== null;
  byTestId('cart-panel').hidden = user?.role !== 'customer';
  byTestId('admin-panel').hidden = user?.role !== 'admin';
}

// --- message banner -------------------------------------------------------------------------------------------

export type MessageKind = 'error' | 'info' | 'success';

/** Shows one message, or several as a list, in the banner (an aria-live region, so it is announced). */
export function showMessage(kind: MessageKind, messages: string | string[]): void {
  const lines = (Array.isArray(messages) ? messages : [messages]).map(capitalise);
  const region = byTestId('message-region');
  const body =
    lines.length === 1
      ? h('p', { class: 'banner-text' }, lines[0])
      : h('ul', { class: 'banner-text' }, ...lines.map((l) => h('li', {}, l)));
  const close = h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss message' }, '×');
  close.addEventListener('click', clearMessage);
  const label = { error: 'Problem', info: 'Note', success: 'Done' }[kind];
  replaceChildren(
    region,
    h(
      'div',
      { class: `banner banner-${kind}`, 'data-testid': 'message-banner', 'data-kind': kind },
      h('strong', { class: 'banner-label' }, label),
      body,
      close,
    ),
  );
}

export function clearMessage(): void {
  byTestId('message-region').replaceChildren();
}

/** "the inventory service…" → "The inventory service…", but "number-api did not answer" stays as it is. */
function capitalise(text: string): string {
  return /^[a-z]+\b(?![-_/.])/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

// --- catalog --------------------------------------------------------------------------------------------------

function panel(type: ItemType): HTMLElement {
  return byTestId(`catalog-${type}`);
}

export function renderCatalogLoading(type: ItemType): void {
  replaceChildren(panel(type), h('p', { class: 'placeholder' }, `Loading ${TYPE_LABELS[type].many}…`));
}

export function renderCatalogError(type: ItemType, message: string, onRetry: () => void): void {
  const retry = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': `retry-${type}` },
    'Try again',
  );
  retry.addEventListener('click', onRetry);
  replaceChildren(
    panel(type),
    h('div', { class: 'placeholder placeholder-error' }, h('p', {}, capitalise(message)), retry),
  );
  byTestId(`count-${type}`).textContent = '';
}

/** The button of each card: what it says and does for the person logged in (none: no button). */
export interface CardAction {
  /** Its label while the item is in stock, e.g. "Add to cart" */
  label: string;
  /** Its accessible name, e.g. "Add Dune to the cart" */
  name(item: CatalogItem): string;
  run(item: CatalogItem, button: HTMLButtonElement): void;
}

/** A catalog's cards so far; `onMore` (when another page follows) adds a button that loads it. */
export function renderCatalog(
  type: ItemType,
  items: CatalogItem[],
  action: CardAction | null,
  onMore: ((button: HTMLButtonElement) => void) | null,
  highlight?: string,
): void {
  byTestId(`count-${type}`).textContent = `${items.length}${onMore ? '+' : ''}`;
  if (items.length === 0) {
    replaceChildren(
      panel(type),
      h('p', { class: 'placeholder' }, `No ${TYPE_LABELS[type].many} in the catalog.`),
    );
    return;
  }
  const grid = h('div', { class: 'grid' }, ...items.map((item) => card(item, action, highlight)));
  if (!onMore) {
    replaceChildren(panel(type), grid);
    return;
  }
  const more = h(
    'button',
    { type: 'button', class: 'secondary more', 'data-testid': `more-${type}` },
    `Show more ${TYPE_LABELS[type].many}`,
  );
  more.addEventListener('click', () => onMore(more));
  replaceChildren(panel(type), grid, more);
}

function card(item: CatalogItem, action: CardAction | null, highlight?: string): HTMLElement {
  const key = `${item.type}-${item.id}`;
  let add: HTMLButtonElement | null = null;
  if (action) {
    const button = h(
      'button',
      { type: 'button', class: 'add', 'data-testid': `add-${key}`, 'aria-label': action.name(item) },
      action.label,
    );
    button.dataset.idle = action.label;
    button.addEventListener('click', () => action.run(item, button));
    add = button;
  }
  const cover = h('div', { class: 'cover', 'aria-hidden': 'true' }, initials(item.title));
  cover.style.setProperty('--hue', String(hue(`${item.type}${item.id}${item.title}`)));

  return h(
    'article',
    {
      class: key === highlight ? `card card-${item.type} just-added` : `card card-${item.type}`,
      'data-testid': `item-${key}`,
      'data-type': item.type,
      'data-id': item.id,
      'data-price': item.price,
      'aria-labelledby': `title-${key}`,
    },
    h(
      'div',
      { class: 'card-head' },
      cover,
      h(
        'div',
        {},
        h('h3', { class: 'card-title', id: `title-${key}` }, item.title),
        h('p', { class: 'card-by' }, `${TYPE_LABELS[item.type].by} `, h('span', {}, item.by)),
      ),
    ),
    h(
      'p',
      { class: 'facts' },
      h('span', { class: 'year' }, String(item.year)),
      item.extra ? h('span', {}, item.extra) : null,
    ),
    h('p', { class: 'code' }, h('span', { class: 'code-label' }, item.codeLabel), ' ', item.code),
    h(
      'div',
      { class: 'card-foot' },
      h('span', { class: 'price', 'data-testid': `price-${key}` }, formatMoney(item.price)),
      h('span', { class: 'stock stock-unknown', 'data-testid': `stock-${key}` }, 'checking stock…'),
    ),
    add,
  );
}

function initials(title: string): string {
  const words = title
    .replace(/^(the|a|an)\s+/i, '')
    .split(/\s+/)
    .filter((w) => /\p{L}|\p{N}/u.test(w));
  return words
    .slice(0, 2)
    .map((w) => (w.match(/[\p{L}\p{N}]/u)?.[0] ?? '').toUpperCase())
    .join('');
}

function hue(text: string): number {
  let hash = 0;
  for (const ch of text) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

/**
 * Puts stock on every card the map knows (the others are still being checked): `null` means the inventory could
 * not be asked (the item can still go in the cart; checkout will tell).
 */
export function applyStock(stock: StockMap | null): void {
  for (const el of document.querySelectorAll<HTMLElement>('article.card')) {
    const type = el.dataset.type as ItemType;
    const id = Number(el.dataset.id);
    const badge = byTestId(`stock-${type}-${id}`, el);
    // A card has no button when the person logged in does not shop.
    const add = el.querySelector<HTMLButtonElement>(`[data-testid="add-${type}-${id}"]`);
    if (stock !== null && !stock.has(stockKey(type, id))) continue;
    const quantity = stock?.get(stockKey(type, id));
    if (quantity === undefined) {
      badge.textContent = 'stock unknown';
      badge.className = 'stock stock-unknown';
    } else if (quantity > 0) {
      badge.textContent = `in stock (${quantity})`;
      badge.className = 'stock stock-in';
    } else {
      badge.textContent = 'out of stock';
      badge.className = 'stock stock-out';
    }
    badge.dataset.quantity = quantity === undefined ? '' : String(quantity);
    const soldOut = quantity === 0;
    el.classList.toggle('sold-out', soldOut);
    if (!add) continue;
    add.dataset.soldOut = String(soldOut);
    add.disabled = soldOut || add.dataset.busy === 'true';
    if (add.dataset.busy !== 'true') add.textContent = soldOut ? 'Sold out' : (add.dataset.idle ?? '');
  }
}

/** Disables an add or checkout button while its request runs, with a visible "working" label. */
export function setBusy(button: HTMLButtonElement, busy: boolean, busyLabel: string): void {
  if (busy) {
    button.dataset.label = button.textContent ?? '';
    button.textContent = busyLabel;
  } else if (button.dataset.label !== undefined) {
    button.textContent = button.dataset.label;
    delete button.dataset.label;
  }
  button.dataset.busy = String(busy);
  button.setAttribute('aria-busy', String(busy));
  button.disabled = busy || button.dataset.soldOut === 'true';
}

// --- cart -----------------------------------------------------------------------------------------------------

export interface CartHandlers {
  onRemove(type: ItemType, id: number): void;
  onCheckout(button: HTMLButtonElement): void;
  onContinue(): void;
}

export function renderCart(
  cart: Cart | null,
  order: Order | null,
  handlers: CartHandlers,
  highlight?: string,
): void {
  const body = byTestId('cart-body');
  const count = cart?.items.reduce((n, line) => n + line.quantity, 0) ?? 0;
  byTestId('cart-count').textContent = count > 0 ? String(count) : '';

  if (order) {
    const shown = body.querySelector<HTMLElement>('[data-testid="confirmation"]');
    if (shown?.dataset.orderId === String(order.orderId)) return;
    replaceChildren(body, confirmation(order, handlers));
    byTestId('confirmation-heading').focus();
    return;
  }
  if (!cart || cart.items.length === 0) {
    replaceChildren(
      body,
      h(
        'p',
        { class: 'placeholder', 'data-testid': 'cart-empty' },
        'Your cart is empty. Pick something from the catalog.',
      ),
    );
    return;
  }

  const lines = cart.items.map((line) => {
    const key = `${line.type}-${line.id}`;
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'remove',
        'data-testid': `remove-${key}`,
        'aria-label': `Remove ${line.title} from the cart`,
      },
      'Remove',
    );
    remove.addEventListener('click', () => handlers.onRemove(line.type, line.id));
    return h(
      'li',
      { class: key === highlight ? 'line just-added' : 'line', 'data-testid': `cart-line-${key}` },
      h(
        'div',
        { class: 'line-main' },
        h('span', { class: 'line-title' }, line.title),
        h(
          'span',
          { class: 'line-meta' },
          `${TYPE_LABELS[line.type].one} · `,
          h('span', { 'data-testid': `cart-qty-${key}` }, String(line.quantity)),
          ` × ${formatMoney(line.unitPrice)}`,
        ),
      ),
      h(
        'span',
        { class: 'line-total', 'data-testid': `cart-line-total-${key}` },
        formatMoney(line.lineTotal),
      ),
      remove,
    );
  });

  const checkout = h('button', { type: 'button', class: 'checkout', 'data-testid': 'checkout' }, 'Check out');
  checkout.addEventListener('click', () => handlers.onCheckout(checkout));

  replaceChildren(
    body,
    h('ul', { class: 'lines', 'data-testid': 'cart-lines' }, ...lines),
    h(
      'p',
      { class: 'total' },
      h('span', {}, 'Total'),
      h('strong', { 'data-testid': 'cart-total', 'data-value': cart.total }, formatMoney(cart.total)),
    ),
    checkout,
    h('p', { class: 'cart-id' }, `cart ${cart.id}`),
  );
}

function confirmation(order: Order, handlers: CartHandlers): HTMLElement {
  const more = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'continue-shopping' },
    'Continue shopping',
  );
  more.addEventListener('click', handlers.onContinue);
  return h(
    'div',
    { class: 'confirmation', 'data-testid': 'confirmation', 'data-order-id': String(order.orderId) },
    h('h3', { tabindex: -1, 'data-testid': 'confirmation-heading' }, 'Thank you — order placed!'),
    h(
      'p',
      { class: 'order-id' },
      'Order number ',
      h('strong', { 'data-testid': 'order-id' }, String(order.orderId)),
    ),
    h(
      'ul',
      { class: 'lines' },
      ...order.items.map((line) =>
        h(
          'li',
          { class: 'line' },
          h('span', { class: 'line-title' }, `${line.quantity} × ${line.title}`),
          h('span', { class: 'line-total' }, formatMoney(line.lineTotal)),
        ),
      ),
    ),
    h(
      'p',
      { class: 'total' },
      h('span', {}, 'Paid'),
      h('strong', { 'data-testid': 'order-total' }, formatMoney(order.total)),
    ),
    more,
  );
}

// --- footer ---------------------------------------------------------------------------------------------------

/** Which instance answered: the last response big enough to read, and the latest per service. */
export function renderServedBy(latest: Map<StoreApi, string>, last: StoreApi): void {
  const output = byTestId('served-by');
  const value = latest.get(last) ?? '—';
  if (output.textContent !== value) {
    output.textContent = value;
    flash(output);
  }
  const list = byTestId('served-by-services');
  replaceChildren(
    list,
    ...STORE_APIS.filter((s) => latest.has(s)).map((s) =>
      h(
        'li',
        { class: s === last ? 'latest' : undefined, 'data-testid': `served-by-${s}` },
        h('span', { class: 'svc' }, s),
        ' ',
        latest.get(s) ?? '',
      ),
    ),
  );
}

function flash(el: HTMLElement): void {
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
}

export function renderEndpoints(config: StoreConfig): void {
  replaceChildren(
    byTestId('endpoints'),
    ...STORE_APIS.map((s) =>
      h('li', {}, h('span', { class: 'svc' }, s), ' ', config.apis[s] || '(same origin)'),
    ),
    h('li', {}, h('span', { class: 'svc' }, 'log-in'), ' ', config.auth.token),
  );
}
