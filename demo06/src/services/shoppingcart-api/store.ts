import { randomUUID } from 'node:crypto';
import type { Limits } from '../../lib/config.js';
import type { Cart, ItemRef, Order } from '../../lib/contract.js';
import { ExpiringMap } from '../../lib/expiring-map.js';
import { fromCents, toCents } from '../../lib/money.js';
import { HttpProblem } from '../../lib/problem.js';

interface StoredCart {
  id: number;
  lines: (ItemRef & { title: string; unitPriceCents: number; quantity: number })[];
  /** Set while a checkout may have reserved stock: the content must stay what was sent to inventory. */
  frozen: boolean;
  /** The user who made it (the gateway's X-User-Sub), when one did: nobody else sees it. */
  owner?: string;
  order?: Order;
}

/** At most this many different items in a cart (a reservation holds at most 50 lines), and of one item. */
export const maxLinesPerCart = 50;
export const maxQuantityPerLine = 99;

/**
 * Carts and their orders, in memory, bounded: open carts expire after an idle TTL and are capped; checked-out
 * carts (with their orders) are kept up to a cap, the oldest dropped first. Money is kept in integer cents.
 */
export class CartStore {
  private readonly open: ExpiringMap<number, StoredCart>;
  private readonly checkedOut = new Map<number, StoredCart>();
  private readonly maxCheckedOut: number;
  private nextCartId = 1;
  private nextOrderId = 1;
  /** Qualifies idempotency keys, so a restarted cart service never reuses an earlier run's keys. */
  private readonly epoch = randomUUID();

  constructor(
    limits: Pick<Limits, 'cartMaxOpen' | 'cartIdleTtlSeconds' | 'cartMaxCheckedOut'>,
    now: () => number = Date.now,
  ) {
    this.open = new ExpiringMap(limits.cartIdleTtlSeconds * 1000, limits.cartMaxOpen, now);
    this.maxCheckedOut = limits.cartMaxCheckedOut;
  }

  create(owner?: string): Cart {
    const cart: StoredCart = { id: this.nextCartId, lines: [], frozen: false, owner };
    if (!this.open.set(cart.id, cart)) {
      throw new HttpProblem(
        507,
        `shoppingcart-api holds at most ${this.open.max} open carts: try again when some have expired`,
        { limit: this.open.max },
      );
    }
    this.nextCartId++;
    return this.view(cart);
  }

  /** The cart, if it exists; using an open cart starts its idle time again. */
  get(id: number): StoredCart | undefined {
    const cart = this.open.get(id);
    if (cart) {
      this.open.touch(id);
      return cart;
    }
    return this.checkedOut.get(id);
  }

  idempotencyKey(cart: StoredCart): string {
    return `cart-${cart.id}@${this.epoch}`;
  }

  addLine(cart: StoredCart, item: ItemRef & { title: string; price: number }, quantity: number): Cart {
    const line = cart.lines.find((l) => l.type === item.type && l.id === item.id);
    if (line && line.quantity + quantity > maxQuantityPerLine) {
      throw new HttpProblem(
        422,
        `cart ${cart.id} would hold ${line.quantity + quantity} of ${item.type} ${item.id}: at most ${maxQuantityPerLine} of one item`,
      );
    }
    if (!line && cart.lines.length >= maxLinesPerCart) {
      throw new HttpProblem(422, `cart ${cart.id} holds at most ${maxLinesPerCart} different items`);
    }
    if (line) line.quantity += quantity;
    else
      cart.lines.push({
        type: item.type,
        id: item.id,
        title: item.title,
        unitPriceCents: toCents(item.price),
        quantity,
      });
    return this.view(cart);
  }

  /** Removes a line; false if the cart has no such line. */
  removeLine(cart: StoredCart, ref: ItemRef): boolean {
    const index = cart.lines.findIndex((l) => l.type === ref.type && l.id === ref.id);
    if (index < 0) return false;
    cart.lines.splice(index, 1);
    return true;
  }

  placeOrder(cart: StoredCart, reservationId: number): Order {
    const { items, total } = this.view(cart);
    cart.order = { orderId: this.nextOrderId++, cartId: cart.id, reservationId, items, total };
    this.open.delete(cart.id);
    this.checkedOut.set(cart.id, cart);
    if (this.checkedOut.size > this.maxCheckedOut) {
      this.checkedOut.delete(this.checkedOut.keys().next().value as number);
    }
    return cart.order;
  }

  view(cart: StoredCart): Cart {
    const items = cart.lines.map(({ unitPriceCents, ...line }) => ({
      ...line,
      unitPrice: fromCents(unitPriceCents),
      lineTotal: fromCents(unitPriceCents * line.quantity),
    }));
    const totalCents = cart.lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
    return { id: cart.id, status: cart.order ? 'checked-out' : 'open', items, total: fromCents(totalCents) };
  }
}

export type { StoredCart };
