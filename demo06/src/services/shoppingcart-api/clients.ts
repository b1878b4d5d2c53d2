import { Dependency } from '../../lib/dependency.js';
import { HttpProblem } from '../../lib/problem.js';
import type { Registry } from '../../lib/registry.js';
import type { ItemRef, ItemType } from '../../lib/contract.js';
import type { OperationReply } from '../../lib/openapi.js';
import type { operations as BookApi, paths as BookPaths } from './book-api.types.js';
import type { operations as CdApi, paths as CdPaths } from './cd-api.types.js';
import type { operations as DvdApi, paths as DvdPaths } from './dvd-api.types.js';
import type {
  components as InventoryComponents,
  operations as InventoryApi,
  paths as InventoryPaths,
} from './inventory-api.types.js';

export interface CatalogItem extends ItemRef {
  title: string;
  price: number;
}

/** An item's path in its catalog, as each catalog's document names it. */
const itemPaths = {
  book: '/api/books/{id}',
  cd: '/api/cds/{id}',
  dvd: '/api/dvds/{id}',
} as const satisfies { book: keyof BookPaths; cd: keyof CdPaths; dvd: keyof DvdPaths };

/** A catalog's answer to a look-up, as its document says. */
type Found =
  OperationReply<BookApi['getBook']> | OperationReply<CdApi['getCD']> | OperationReply<DvdApi['getDVD']>;

/** Looks items up in their catalog (book-api, cd-api, dvd-api) for their title and price. */
export class CatalogClient {
  readonly dependencies: Record<ItemType, Dependency>;

  constructor(registry: Registry, timeoutMs: number) {
    this.dependencies = {
      book: new Dependency(registry.discover('book-api'), timeoutMs),
      cd: new Dependency(registry.discover('cd-api'), timeoutMs),
      dvd: new Dependency(registry.discover('dvd-api'), timeoutMs),
    };
  }

  /** The item, or undefined when its catalog says it does not exist. */
  async find({ type, id }: ItemRef): Promise<CatalogItem | undefined> {
    const catalog = this.dependencies[type];
    const reply = (await catalog.call('GET', itemPaths[type].replace('{id}', String(id)))) as Found;
    if (reply.status === 404) return undefined;
    // Every catalog's item must have a title and a price, as the cart reads them.
    const item: Pick<CatalogItem, 'title' | 'price'> | null = reply.status === 200 ? reply.body : null;
    if (typeof item?.title !== 'string' || typeof item.price !== 'number') {
      throw new HttpProblem(503, `${catalog.name} answered ${reply.status} without a title and price`, {
        dependency: catalog.name,
      });
    }
    return { type, id, title: item.title, price: item.price };
  }
}

export type ReservationReply =
  | { kind: 'reserved'; reservationId: number }
  | { kind: 'short'; short: InventoryComponents['schemas']['ShortItem'][] }
  | { kind: 'refused'; status: number; detail: string };

const reservationsPath = '/api/inventory/reservations' satisfies keyof InventoryPaths;

/** inventory-api's answer to a reservation, as its document says. */
type Reserved = OperationReply<InventoryApi['reserve']>;

/** Reserves a cart's items in inventory-api under an idempotency key. */
export class InventoryClient {
  readonly dependency: Dependency;

  constructor(registry: Registry, timeoutMs: number) {
    this.dependency = new Dependency(registry.discover('inventory-api'), timeoutMs);
  }

  async reserve(key: string, items: (ItemRef & { quantity: number })[]): Promise<ReservationReply> {
    const reply = (await this.dependency.call('POST', reservationsPath, {
      body: { items },
      headers: { 'idempotency-key': key },
    })) as Reserved;
    if (reply.status === 201 || reply.status === 200) {
      if (typeof reply.body?.reservationId === 'number') {
        return { kind: 'reserved', reservationId: reply.body.reservationId };
      }
      return { kind: 'refused', status: reply.status, detail: 'the answer has no reservation id' };
    }
    if (reply.status === 409) return { kind: 'short', short: reply.body?.short ?? [] };
    return { kind: 'refused', status: reply.status, detail: String(reply.body?.detail ?? '') };
  }
}
