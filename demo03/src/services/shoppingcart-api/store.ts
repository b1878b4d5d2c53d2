import { randomUUID } from 'node:crypto';
import { fromCents, toCents } from '../../lib/money.js';
import type { Cart, ItemRef, Order } from '../../lib/contract.js';

interface StoredCart {
  id: number;
  lines: (ItemRef & { title: string; unitPriceCents: number; quantity: number })[];
  /** Set while a checkout may have reserved stock: the content must stay what was sent to inventory. */
  frozen: boolean;
  order?: Order;
}

/** Carts and their orders, in memory. Money is kept in integer cents. */
export class CartStore {
  private readonly carts = new Map<number, StoredCart>();
  private nextCartId = 1;
  private nextOrderId = 1;
  /** Qualifies idempotency keys, so a restarted cart service never reuses an earlier run's keys. */
  private readonly epoch = randomUUID();

  create(): Cart {
    const cart: StoredCart = { id: this.nextCartId++, lines: [], frozen: false };
    this.carts.set(cart.id, cart);
    return this.view(cart);
  }

  get(id: number): StoredCart | undefined {
    return this.carts.get(id);
  }

  idempotencyKey(cart: StoredCart): string {
    return `cart-${cart.id}@${this.epoch}`;
  }

  addLine(cart: StoredCart, item: ItemRef & { title: string; price: number }, quantity: number): Cart {
    const line = cart.lines.find((l) => l.type === item.type && l.id === item.id);
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
