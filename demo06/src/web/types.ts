/** Shapes of what the storefront reads from /config.json and the store's APIs (docs/API.md). */
import type { ItemType, Stage } from '../lib/contract.js';

// The shapes the services answer with are the services' own: one module, compiled by both builds.
export type { Cart, CartLine, ItemType, Order, StockRecord } from '../lib/contract.js';

export const ITEM_TYPES: readonly ItemType[] = ['book', 'cd', 'dvd'];

/** The APIs the browser talks to, as named in /config.json's `apis`. */
export type StoreApi = ItemType | 'inventory' | 'cart';
export const STORE_APIS: readonly StoreApi[] = ['book', 'cd', 'dvd', 'inventory', 'cart'];

export type StageInfo = Stage;

/** What GET /config.json answers (src/services/web/routes.ts). */
export interface ConfigResponse {
  stage: StageInfo;
  /**
   * Base URL per API, read at run time, never hard-coded: the gateway's origin, which the page and every API
   * share (so the browser needs no CORS).
   */
  apis: Record<StoreApi, string>;
  /** Where to log in: POST {"username", "password"} answers a token (the gateway's /auth/token). */
  auth: { token: string };
  /** Where each service's OpenAPI document is, for the API page, e.g. "/openapi/book-api.json". */
  documents: Record<string, string>;
}

/** What the storefront page needs of it. */
export type StoreConfig = Omit<ConfigResponse, 'documents'>;

// --- users ------------------------------------------------------------------------------------------------------

export type Role = 'customer' | 'admin';
export const ROLES: readonly Role[] = ['customer', 'admin'];

export interface User {
  name: string;
  role: Role;
}

/** The gateway's answer to a log-in (POST /auth/token). */
export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds the token is valid for */
  expiresIn: number;
  user: User;
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

/** What a create sends (docs/API.md): the service adds `id` and the ISBN or EAN. */
export interface CatalogCreate {
  book: Omit<Book, 'id' | 'isbn'>;
  cd: Omit<Cd, 'id' | 'ean'>;
  dvd: Omit<Dvd, 'id' | 'ean'>;
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
