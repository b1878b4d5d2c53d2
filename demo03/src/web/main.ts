/** The storefront's entry point: reads /config.json, then wires the catalog, the cart and the page together. */
import { Api, loadConfig } from './api.js';
import { CartState } from './cart.js';
import { loadCatalog, loadStock, TYPE_LABELS } from './catalog.js';
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
import type { CatalogItem, ItemType, ServiceName } from './types.js';
import { ITEM_TYPES } from './types.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function start(): Promise<void> {
  setUpTabs();

  const config = await loadConfig().catch((error: unknown) => {
    showMessage('error', messageOf(error));
    for (const type of ITEM_TYPES) renderCatalogError(type, messageOf(error), () => location.reload());
    return null;
  });
  if (!config) return;
  renderStage(config.stage);
  renderEndpoints(config);

  const servedBy = new Map<ServiceName, string>();
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

  async function refreshStock(): Promise<string | null> {
    try {
      applyStock(await loadStock(api));
      return null;
    } catch (error) {
      applyStock(null);
      return messageOf(error);
    }
  }

  async function refreshCatalog(type: ItemType): Promise<string | null> {
    try {
      renderCatalog(type, await loadCatalog(api, type), addToCart);
      return null;
    } catch (error) {
      renderCatalogError(type, messageOf(error), () => void refreshAll());
      return `${TYPE_LABELS[type].many}: ${messageOf(error)}`;
    }
  }

  let refreshing: Promise<void> | null = null;
  let lastRefresh = 0;

  /** Loads all three catalogs and the stock; every failure is shown, the rest of the page still works. */
  function refreshAll(): Promise<void> {
    refreshing ??= (async () => {
      const catalogs = Promise.all(ITEM_TYPES.map(refreshCatalog));
      const stock = loadStock(api).then(
        (map) => ({ map, error: null }),
        (error: unknown) => ({ map: null, error: messageOf(error) }),
      );
      const errors = (await catalogs).filter((e): e is string => e !== null);
      const { map, error } = await stock;
      applyStock(map);
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
