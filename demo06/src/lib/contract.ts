/**
 * The wire shapes of the store's contract (docs/API.md) that more than one side reads: the services that
 * answer with them and the storefront that shows them compile against this one module. Types only.
 */

export type ItemType = 'book' | 'cd' | 'dvd';

/** An item anywhere outside its catalog: {"type": "book", "id": 1}. */
export interface ItemRef {
  type: ItemType;
  id: number;
}

export interface StockRecord extends ItemRef {
  quantity: number;
}

export interface CartLine extends ItemRef {
  title: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

export interface Cart {
  id: number;
  status: 'open' | 'checked-out';
  items: CartLine[];
  total: number;
}

export interface Order {
  orderId: number;
  cartId: number;
  reservationId: number;
  items: CartLine[];
  total: number;
}

/** The stage a service belongs to, as stage.json says and /config.json shows. */
export interface Stage {
  stage: string;
  number: number;
  title: string;
}
