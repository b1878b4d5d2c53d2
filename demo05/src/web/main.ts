/** The storefront's entry point: reads /config.json, then wires the catalog, the cart and the page together. */
import { Api, loadStoreConfig } from './api.js';
import { CartState } from './cart.js';
import { loadCatalogPage, loadStock, type StockMap, TYPE_LABELS } from './catalog.js';
import { byTestId } from './dom.js';
import {
  applyStock,
  type CartHandlers,
  clearMessage,
  renderCart,
  renderCatalog,
  renderCatalogError,
  renderCatalogLoading,
  renderEndpoints,
  renderServedBy,
  renderStage,
  setBusy,
  showMessage,
} from './render.js';
import type { CatalogItem, ItemType, StoreApi } from './types.js';
import { ITEM_TYPES } from './types.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function start(): Promise<void> {
  setUpTabs();

  const config = await loadStoreConfig().catch((error: unknown) => {
    showMessage('error', messageOf(error));
    for (const type of ITEM_TYPES) renderCatalogError(type, messageOf(error), () => location.reload());
    return null;
  });
  if (!config) return;
  renderStage(config.stage);
  renderEndpoints(config);

  const servedBy = new Map<StoreApi, string>();
  const api = new Api(config, (service, instance) => {
    servedBy.set(service, instance);
    renderServedBy(servedBy, service);
  });

  let highlight: string | undefined;
  const cartHandlers: CartHandlers = {
    onRemove: (type, id) => void run(() => cart.remove(type, id)),
    onCheckout: (button) => void checkout(button),
    onContinue: () => cart.dismissOrder(),
  };
  const cart = new CartState(api, () => renderCart(cart.cart, cart.lastOrder, cartHandlers, highlight));

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

  function showCatalog(type: ItemType): void {
    const next = nextPage.get(type) ?? null;
    renderCatalog(type, shown.get(type) ?? [], addToCart, next === null ? null : (b) => void more(type, b));
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
      shown.set(type, [...(shown.get(type) ?? []), ...page.items]);
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
    void (async () => {
      setBusy(button, true, 'Adding…');
      highlight = `${item.type}-${item.id}`;
      const ok = await run(async () => {
        const restarted = await cart.add(item.type, item.id);
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
    setBusy(button, true, 'Checking out…');
    const ok = await run(async () => {
      await cart.checkout();
    });
    if (!ok && button.isConnected) setBusy(button, false, '');
    // Stock changed either way: ours went down, or somebody else's purchase left too little.
    const stockError = await refreshStock();
    if (ok && stockError) showMessage('error', `stock: ${stockError}`);
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
  renderCart(null, null, cartHandlers);
  await Promise.all([
    refreshAll(),
    cart.restore().catch((error: unknown) => showMessage('error', `cart: ${messageOf(error)}`)),
  ]);
}

// --- tabs (WAI-ARIA tabs pattern; the selected tab is kept in the URL hash) -----------------------------------

function setUpTabs(): void {
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
}

start().catch((error: unknown) =>
  showMessage('error', `the storefront failed to start: ${messageOf(error)}`),
);
