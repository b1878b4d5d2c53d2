/** Shapes of what the storefront reads from /config.json and the store's APIs (see API.md). */

export type ItemType = 'book' | 'cd' | 'dvd';
export const ITEM_TYPES: readonly ItemType[] = ['book', 'cd', 'dvd'];

/** The APIs the browser talks to, as named in /config.json's `apis`. */
export type ServiceName = ItemType | 'inventory' | 'cart';
export const SERVICE_NAMES: readonly ServiceName[] = ['book', 'cd', 'dvd', 'inventory', 'cart'];

export interface StageInfo {
  stage: string;
  number: number;
  title: string;
}

export interface StoreConfig {
  stage: StageInfo;
  /** Base URL per API, e.g. "http://localhost:8081"; read at run time, never hard-coded. */
  apis: Record<ServiceName, string>;
}

interface CatalogFields {
  id: number;
  title: string;
  year: number;
  price: number;
}

export interface Book extends CatalogFields {
  author: string;
  isbn: string;
  pages?: number;
  description?: string;
}

export interface Cd extends CatalogFields {
  artist: string;
  ean: string;
  tracks?: number;
}

export interface Dvd extends CatalogFields {
  director: string;
  ean: string;
  durationMinutes?: number;
}

export interface CatalogResponse {
  book: Book;
  cd: Cd;
  dvd: Dvd;
}

/** One catalog item, flattened for display whatever its type. */
export interface CatalogItem {
  type: ItemType;
  id: number;
  title: string;
  /** author, artist or director */
  by: string;
  year: number;
  price: number;
  codeLabel: 'ISBN' | 'EAN';
  code: string;
  /** pages, tracks or running time, when known, e.g. "310 pages" */
  extra?: string;
}

export interface StockRecord {
  type: ItemType;
  id: number;
  quantity: number;
}

export interface CartLine {
  type: ItemType;
  id: number;
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
  orderId: number | string;
  cartId: number;
  items: CartLine[];
  total: number;
}
