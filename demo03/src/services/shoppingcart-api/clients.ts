import { Dependency } from '../../lib/http-client.js';
import { HttpProblem } from '../../lib/problem.js';
import type { Registry } from '../../lib/registry.js';
import type { ItemRef, ItemType } from '../../lib/contract.js';

export interface CatalogItem extends ItemRef {
  title: string;
  price: number;
}

const collections: Record<ItemType, string> = { book: 'books', cd: 'cds', dvd: 'dvds' };

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
    const reply = await catalog.call<{ title?: unknown; price?: unknown }>(
      'GET',
      `/api/${collections[type]}/${id}`,
    );
    if (reply.status === 404) return undefined;
    const { title, price } = reply.body ?? {};
    if (reply.status !== 200 || typeof title !== 'string' || typeof price !== 'number') {
      throw new HttpProblem(503, `${catalog.name} answered ${reply.status} without a title and price`, {
        dependency: catalog.name,
      });
    }
    return { type, id, title, price };
  }
}

export type ReservationReply =
  | { kind: 'reserved'; reservationId: number }
  | { kind: 'short'; short: unknown[] }
  | { kind: 'refused'; status: number; detail: string };

/** Reserves a cart's items in inventory-api under an idempotency key. */
export class InventoryClient {
  readonly dependency: Dependency;

  constructor(registry: Registry, timeoutMs: number) {
    this.dependency = new Dependency(registry.discover('inventory-api'), timeoutMs);
  }

  async reserve(key: string, items: (ItemRef & { quantity: number })[]): Promise<ReservationReply> {
    const reply = await this.dependency.call<{ reservationId?: number; short?: unknown[]; detail?: string }>(
      'POST',
      '/api/inventory/reservations',
      { body: { items }, headers: { 'idempotency-key': key } },
    );
    if ((reply.status === 201 || reply.status === 200) && typeof reply.body?.reservationId === 'number') {
      return { kind: 'reserved', reservationId: reply.body.reservationId };
    }
    if (reply.status === 409) return { kind: 'short', short: reply.body?.short ?? [] };
    return { kind: 'refused', status: reply.status, detail: String(reply.body?.detail ?? '') };
  }
}
