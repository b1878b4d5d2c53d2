/** Shapes of what the storefront reads from /config.json and the store's APIs (docs/API.md). */
import type { ItemType, Stage } from '../lib/contract.js';

// The shapes the services answer with are the services' own: one module, compiled by both builds.
export type { Cart, CartLine, ItemType, Order, StockRecord } from '../lib/contract.js';

export const ITEM_TYPES: readonly ItemType[] = ['book', 'cd', 'dvd'];

/** The APIs the browser talks to, as named in /config.json's `apis`. */
export type StoreApi = ItemType | 'inventory' | 'cart';
export const STORE_APIS: readonly StoreApi[] = ['book', 'cd', 'dvd', 'inventory', 'cart'];

export type StageInfo = Stage;

export interface StoreConfig {
  stage: StageInfo;
  /** Base URL per API, e.g. "http://localhost:8081"; read at run time, never hard-coded. */
  apis: Record<StoreApi, string>;
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
