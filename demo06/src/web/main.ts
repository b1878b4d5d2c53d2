/**
 * The storefront's entry point: reads /config.json, then wires the log-in, the catalog, the cart, the admin form
 * and the page together.
 */
import { adminForm, type Created, setUpAdminForm, submitAdminForm } from './admin.js';
import { Api, loadStoreConfig } from './api.js';
import { CartState } from './cart.js';
import {
  loadCatalogPage,
  loadStock,
  type StockMap,
  stockKey,
  toCatalogItem,
  TYPE_LABELS,
} from './catalog.js';
import { byTestId } from './dom.js';
import {
  applyStock,
  type CardAction,
  type CartHandlers,
  clearMessage,
  renderAccount,
  renderCart,
  renderCatalog,
  renderCatalogError,
  renderCatalogLoading,
  renderEndpoints,
  renderServedBy,
  renderSide,
  renderStage,
  setBusy,
  showMessage,
} from './render.js';
import { EXPIRED_MESSAGE, type SessionEnd, SessionState } from './session.js';
import type { CatalogItem, ItemType, StoreApi } from './types.js';
import { ITEM_TYPES } from './types.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the page says when a session ends, by why. */
const SESSION_ENDED: Record<SessionEnd, string> = {
  'logged-out': 'you are logged out',
  expired: EXPIRED_MESSAGE,
  refused: 'the gateway no longer accepts your log-in (it may have restarted): please log in again',
};

/** Items by id, each once: a page loaded after an admin added an item may bring that item again. */
function mergeById(items: CatalogItem[], more: CatalogItem[]): CatalogItem[] {
  return [...new Map([...items, ...more].map((item) => [item.id, item])).values()].sort(
    (a, b) => a.id - b.id,
  );
}

async function start(): Promise<void> {
  const selectTab = setUpTabs();

  const config = await loadStoreConfig().catch((error: unknown) => {
    showMessage('error', messageOf(error));
    for (const type of ITEM_TYPES) renderCatalogError(type, messageOf(error), () => location.reload());
    return null;
  });
  if (!config) return;
  renderStage(config.stage);
  renderEndpoints(config);

  const servedBy = new Map<StoreApi, string>();
  const session = new SessionState((ended) => applySession(ended));
  const api = new Api(config, session, (service, instance) => {
    servedBy.set(service, instance);
    renderServedBy(servedBy, service);
  });

  let highlight: string | undefined;
  const cartHandlers: CartHandlers = {
    onRemove: (type, id) => void run(async () => cart?.remove(type, id)),
    onCheckout: (button) => void checkout(button),
    onContinue: () => cart?.dismissOrder(),
  };
  /** The logged-in customer's cart; null for a visitor or an admin, who have none. */
  let cart: CartState | null = null;
  const showCart = () => renderCart(cart?.cart ?? null, cart?.lastOrder ?? null, cartHandlers, highlight);

  /** Draws the page for whoever is logged in now, and says why a session ended. */
  function applySession(ended?: SessionEnd): void {
    const user = session.user;
    renderAccount(user);
    renderSide(user);
    const owner = user?.role === 'customer' ? user.name : null;
    if ((cart?.owner ?? null) !== owner) {
      // Each customer has their own cart; a pending answer for the last one is not drawn.
      const state = owner === null ? null : new CartState(api, owner, () => state === cart && showCart());
      cart = state;
      showCart();
      state?.restore().catch((error: unknown) => showMessage('error', `cart: ${messageOf(error)}`));
    }
    for (const type of ITEM_TYPES) if (shown.has(type)) showCatalog(type);
    if (ended) showMessage('info', SESSION_ENDED[ended]);
  }

  /** What a card's button does for whoever is logged in: a customer shops, a visitor is asked to log in. */
  function cardAction(): CardAction | null {
    switch (session.user?.role) {
      case 'customer':
        return { label: 'Add to cart', name: (item) => `Add ${item.title} to the cart`, run: addToCart };
      case 'admin':
        return null;
      case undefined:
        return {
          label: 'Log in to shop',
          name: (item) => `Log in to buy ${item.title}`,
          run: () => askToLogIn(),
        };
    }
  }

  function askToLogIn(): void {
    showMessage('info', 'log in to shop: customers fill a cart and check out');
    byTestId('login-username').focus();
  }

  /** Runs a person's action: clears the old message first, shows the new problem if there is one. */
  async function run(action: () => Promise<void>): Promise<boolean> {
    clearMessage();
    try {
      await action();
      return true;
    } catch (error) {
      showMessage('error', messageOf(error));
      return false;
    }
  }

  /** The items shown per catalog (the pages loaded so far), and the path of each catalog's next page. */
  const shown = new Map<ItemType, CatalogItem[]>();
  const nextPage = new Map<ItemType, string | null>();
  let stock: StockMap | null = null;

  function showCatalog(type: ItemType, justAdded?: string): void {
    const next = nextPage.get(type) ?? null;
    const onMore = next === null ? null : (b: HTMLButtonElement) => void more(type, b);
    renderCatalog(type, shown.get(type) ?? [], cardAction(), onMore, justAdded);
    applyStock(stock);
  }

  /** Stock of the given items (all shown items when none are given), merged into what the cards show. */
  async function refreshStock(items = [...shown.values()].flat()): Promise<string | null> {
    try {
      const fresh = await loadStock(api, items);
      stock = new Map([...(stock ?? []), ...fresh]);
      applyStock(stock);
      return null;
    } catch (error) {
      stock = null;
      applyStock(null);
      return messageOf(error);
    }
  }

  async function refreshCatalog(type: ItemType): Promise<string | null> {
    try {
      const page = await loadCatalogPage(api, type);
      shown.set(type, page.items);
      nextPage.set(type, page.next);
      showCatalog(type);
      return null;
    } catch (error) {
      shown.delete(type);
      renderCatalogError(type, messageOf(error), () => void refreshAll());
      return `${TYPE_LABELS[type].many}: ${messageOf(error)}`;
    }
  }

  /** The catalog's next page, added below the cards already shown, with its stock. */
  async function more(type: ItemType, button: HTMLButtonElement): Promise<void> {
    setBusy(button, true, 'Loading…');
    let added: CatalogItem[] = [];
    const ok = await run(async () => {
      const page = await loadCatalogPage(api, type, nextPage.get(type) ?? undefined);
      added = page.items;
      shown.set(type, mergeById(shown.get(type) ?? [], page.items));
      nextPage.set(type, page.next);
    });
    if (!ok) {
      setBusy(button, false, '');
      return;
    }
    showCatalog(type);
    const stockError = added.length > 0 ? await refreshStock(added) : null;
    if (stockError) showMessage('error', `stock: ${stockError}`);
  }

  let refreshing: Promise<void> | null = null;
  let lastRefresh = 0;

  /** Loads all three catalogs and the stock; every failure is shown, the rest of the page still works. */
  function refreshAll(): Promise<void> {
    refreshing ??= (async () => {
      // Back to each catalog's first page; stock is asked for the items that are shown.
      stock = new Map();
      const errors = (await Promise.all(ITEM_TYPES.map(refreshCatalog))).filter(
        (e): e is string => e !== null,
      );
      const error = await refreshStock();
      if (error) errors.push(`stock: ${error}`);
      if (errors.length > 0) showMessage('error', errors);
      lastRefresh = Date.now();
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  function addToCart(item: CatalogItem, button: HTMLButtonElement): void {
    const current = cart;
    if (!current) return askToLogIn();
    void (async () => {
      setBusy(button, true, 'Adding…');
      highlight = `${item.type}-${item.id}`;
      const ok = await run(async () => {
        const restarted = await current.add(item.type, item.id);
        if (restarted) {
          showMessage(
            'info',
            'your previous cart no longer exists (the shopping-cart service restarted), so a new cart was started',
          );
        }
      });
      highlight = undefined;
      setBusy(button, false, '');
      if (!ok) void refreshStock();
    })();
  }

  async function checkout(button: HTMLButtonElement): Promise<void> {
    const current = cart;
    if (!current) return;
    setBusy(button, true, 'Checking out…');
    const ok = await run(async () => {
      await current.checkout();
    });
    if (!ok && button.isConnected) setBusy(button, false, '');
    // Stock changed either way: ours went down, or somebody else's purchase left too little.
    const stockError = await refreshStock();
    if (ok && stockError) showMessage('error', `stock: ${stockError}`);
  }

  // --- log-in, log-out ----------------------------------------------------------------------------------------

  const loginForm = byTestId<HTMLFormElement>('login-form');
  loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void logIn();
  });

  async function logIn(): Promise<void> {
    const button = byTestId<HTMLButtonElement>('login-submit', loginForm);
    const username = byTestId<HTMLInputElement>('login-username', loginForm);
    const password = byTestId<HTMLInputElement>('login-password', loginForm);
    setBusy(button, true, 'Logging in…');
    const ok = await run(async () => session.start(await api.logIn(username.value.trim(), password.value)));
    setBusy(button, false, '');
    // The password is never kept in the page: typed again after a failure.
    password.value = '';
    if (!ok) {
      password.focus();
      return;
    }
    byTestId(session.user?.role === 'admin' ? 'admin-heading' : 'cart-heading').focus();
  }

  byTestId('logout').addEventListener('click', () => {
    clearMessage();
    session.logOut();
    byTestId('login-username').focus();
  });

  // --- the admin form -----------------------------------------------------------------------------------------

  setUpAdminForm();
  adminForm().addEventListener('submit', (event) => {
    event.preventDefault();
    void addItem();
  });

  /** Creates the item and shows it in its catalog, with its stock. */
  async function addItem(): Promise<void> {
    const button = byTestId<HTMLButtonElement>('admin-submit');
    setBusy(button, true, 'Adding…');
    let created: Created | undefined;
    const ok = await run(async () => {
      created = await submitAdminForm(api, adminForm());
    });
    setBusy(button, false, '');
    if (!ok || !created) return;

    const { type } = created;
    const item = toCatalogItem(type, created.item);
    shown.set(type, mergeById(shown.get(type) ?? [], [item]));
    stock = new Map([...(stock ?? []), [stockKey(type, item.id), 0]]);
    selectTab(type);
    showCatalog(type, `${type}-${item.id}`);
    byTestId(`item-${type}-${item.id}`).scrollIntoView({ block: 'nearest' });
    const stockError = await refreshStock([item]);
    const added = `added ${TYPE_LABELS[type].one} “${item.title}” (id ${item.id})`;
    if (created.stockError !== undefined) {
      showMessage('error', `${added}, but not its stock: ${messageOf(created.stockError)}`);
    } else if (stockError) {
      showMessage('error', `${added}; stock: ${stockError}`);
    } else {
      showMessage('success', `${added} to the catalog`);
    }
  }

  byTestId('refresh').addEventListener('click', () => {
    clearMessage();
    void refreshAll();
  });
  // Coming back to the tab (say, after creating a book with curl) shows the catalog as it is now.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && Date.now() - lastRefresh > 2000) void refreshAll();
  });

  for (const type of ITEM_TYPES) renderCatalogLoading(type);
  showCart();
  // Whoever was logged in when this tab last showed the store (the cart follows: applySession).
  session.restore();
  applySession();
  await refreshAll();
}

// --- tabs (WAI-ARIA tabs pattern; the selected tab is kept in the URL hash) -----------------------------------

/** Wires the tabs; answers a function that selects one. */
function setUpTabs(): (type: ItemType) => void {
  const tabs = ITEM_TYPES.map((type) => byTestId<HTMLButtonElement>(`tab-${type}`));
  const select = (type: ItemType, focus: boolean) => {
    for (const tab of tabs) {
      const selected = tab.dataset.type === type;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      byTestId(`catalog-${tab.dataset.type}`).hidden = !selected;
      if (selected && focus) tab.focus();
    }
    history.replaceState(null, '', `#${type}`);
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab.dataset.type as ItemType, false));
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      const target =
        step !== undefined
          ? tabs[(index + step + tabs.length) % tabs.length]
          : event.key === 'Home'
            ? tabs[0]
            : event.key === 'End'
              ? tabs[tabs.length - 1]
              : undefined;
      if (!target) return;
      event.preventDefault();
      select(target.dataset.type as ItemType, true);
    });
  });
  const fromHash = location.hash.slice(1) as ItemType;
  select(ITEM_TYPES.includes(fromHash) ? fromHash : 'book', false);
  return (type) => select(type, false);
}

start().catch((error: unknown) =>
  showMessage('error', `the storefront failed to start: ${messageOf(error)}`),
);
