/**
 * Cart state: one open cart per customer, its id kept in sessionStorage under the customer's name, so a reload
 * keeps it and another customer in the same tab never picks it up (a cart belongs to whoever made it: the cart
 * service answers 404 to anyone else). Carts live in the cart service's memory, so a stored id can outlive its
 * cart (service restarted): then the page quietly starts a new one.
 */
import { type Api, ApiError } from './api.js';
import type { Cart, ItemType, Order } from './types.js';

/** Where the cart id of this customer is kept. */
export const cartStorageKey = (user: string): string => `pie-store.cartId.${user}`;

interface ShortItem {
  type: ItemType;
  id: number;
  requested?: number;
  available?: number;
}

export class CartState {
  cart: Cart | null = null;
  /** The last order placed from this page, shown until the person shops on. */
  lastOrder: Order | null = null;

  private readonly storageKey: string;

  constructor(
    private readonly api: Api,
    /** The customer the cart belongs to. */
    readonly owner: string,
    private readonly onChange: () => void,
  ) {
    this.storageKey = cartStorageKey(owner);
  }

  /** Picks up the cart from a previous visit, if it still exists and is open. */
  async restore(): Promise<void> {
    const id = readStoredId(this.storageKey);
    if (id === null) return;
    try {
      const cart = await this.api.getCart(id);
      this.set(cart.status === 'open' ? cart : null);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.set(null);
        return;
      }
      throw error;
    }
  }

  /** Adds one of an item. Returns true when the stored cart was gone and a new one was started. */
  async add(type: ItemType, id: number): Promise<boolean> {
    this.lastOrder = null;
    const cart = this.cart ?? (await this.api.createCart());
    this.set(cart);
    try {
      this.set(await this.api.addToCart(cart.id, type, id));
      return false;
    } catch (error) {
      if (!isCartGone(error)) throw error;
      const fresh = await this.api.createCart();
      this.set(fresh);
      this.set(await this.api.addToCart(fresh.id, type, id));
      return true;
    }
  }

  async remove(type: ItemType, id: number): Promise<void> {
    if (!this.cart) return;
    try {
      this.set(await this.api.removeFromCart(this.cart.id, type, id));
    } catch (error) {
      if (!isCartGone(error)) throw error;
      // The line or the whole cart is gone already: show what the service has now.
      await this.restore();
    }
  }

  /** Checks the cart out; on success the cart is done and the next add starts a new one. */
  async checkout(): Promise<Order> {
    if (!this.cart) throw new Error('the cart is empty');
    let order: Order;
    try {
      order = await this.api.checkout(this.cart.id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) throw this.outOfStock(error);
      if (!isCartGone(error)) throw error;
      this.set(null);
      throw new ApiError(
        'cart',
        404,
        'your cart no longer exists (the shopping-cart service restarted): please add the items again',
      );
    }
    this.lastOrder = order;
    this.set(null);
    return order;
  }

  /** A 409 checkout lists the short items (`short`): name them, with how many are left. */
  private outOfStock(error: ApiError): ApiError {
    const short = Array.isArray(error.problem.short) ? (error.problem.short as ShortItem[]) : [];
    if (short.length === 0) return error;
    const names = short.map((s) => {
      const title =
        this.cart?.items.find((l) => l.type === s.type && l.id === s.id)?.title ?? `${s.type} ${s.id}`;
      return typeof s.requested === 'number' && typeof s.available === 'number'
        ? `${title} (${s.requested} wanted, ${s.available} left)`
        : title;
    });
    return new ApiError(error.service, error.status, `out of stock: ${names.join(', ')}`, error.problem);
  }

  dismissOrder(): void {
    this.lastOrder = null;
    this.onChange();
  }

  private set(cart: Cart | null): void {
    this.cart = cart;
    writeStoredId(this.storageKey, cart?.id ?? null);
    this.onChange();
  }
}

function isCartGone(error: unknown): boolean {
  return error instanceof ApiError && error.service === 'cart' && error.status === 404;
}

function readStoredId(key: string): number | null {
  try {
    const id = Number(sessionStorage.getItem(key));
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null; // storage disabled: the cart lasts as long as the page
  }
}

function writeStoredId(key: string, id: number | null): void {
  try {
    if (id === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, String(id));
  } catch {
    // storage disabled: nothing to keep
  }
}
