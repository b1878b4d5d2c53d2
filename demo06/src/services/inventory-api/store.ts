import { isDeepStrictEqual } from 'node:util';
import type { Limits } from '../../lib/config.js';
import type { ItemRef, ItemType, StockRecord } from '../../lib/contract.js';
import { ExpiringMap } from '../../lib/expiring-map.js';
import { firstAfter, type PageQuery, pageOf } from '../../lib/pagination.js';
import { stockFixtures } from './fixtures.js';

export interface ReservationLine extends ItemRef {
  quantity: number;
}

export interface Reservation {
  reservationId: number;
  items: ReservationLine[];
}

export interface ShortItem extends ItemRef {
  requested: number;
  available: number;
}

export type ReserveOutcome =
  | { kind: 'reserved'; reservation: Reservation }
  | { kind: 'replayed'; reservation: Reservation }
  | { kind: 'key-reused' }
  | { kind: 'short'; short: ShortItem[] }
  | { kind: 'full'; max: number };

export type SetOutcome = { kind: 'set'; record: StockRecord } | { kind: 'full'; max: number };

const keyOf = (type: ItemType, id: number) => `${type}/${id}`;

/** Stock records are ordered by type, then id; a page's `after` is such a position. */
const byPosition = (record: ItemRef, key: ItemRef) =>
  record.type.localeCompare(key.type) || record.id - key.id;

/** One line per item, in a fixed order, so that the same request always has the same shape. */
function normalise(lines: ReservationLine[]): ReservationLine[] {
  const merged = new Map<string, ReservationLine>();
  for (const line of lines) {
    const key = keyOf(line.type, line.id);
    const seen = merged.get(key);
    merged.set(key, { type: line.type, id: line.id, quantity: (seen?.quantity ?? 0) + line.quantity });
  }
  return [...merged.values()].sort((a, b) => a.type.localeCompare(b.type) || a.id - b.id);
}

/**
 * Stock per item, and the reservations taken from it. Every method runs to completion without awaiting,
 * so on Node's single thread a check and its decrement can never interleave with another request's.
 */
export class InventoryStore {
  private readonly stock = new Map<string, StockRecord>();
  /** The same records in page order. */
  private readonly ordered: StockRecord[] = [];
  private readonly maxRecords: number;
  /** Answers for retries, by idempotency key: kept for the TTL, at most `reservationMaxKept` of them. */
  private readonly reservations: ExpiringMap<string, { items: ReservationLine[]; reservation: Reservation }>;
  private nextReservationId = 1;

  constructor(
    limits: Pick<Limits, 'inventoryMaxRecords' | 'reservationTtlSeconds' | 'reservationMaxKept'>,
    now: () => number = Date.now,
  ) {
    const fixtures = Object.entries(stockFixtures) as [ItemType, number[]][];
    this.maxRecords = Math.max(limits.inventoryMaxRecords, fixtures.flatMap(([, q]) => q).length);
    this.reservations = new ExpiringMap(limits.reservationTtlSeconds * 1000, limits.reservationMaxKept, now);
    for (const [type, quantities] of fixtures) {
      for (const [index, quantity] of quantities.entries()) this.set(type, index + 1, quantity);
    }
  }

  page(query: PageQuery<ItemRef>): { items: StockRecord[]; more: boolean } {
    return pageOf(this.ordered, query, byPosition);
  }

  get(type: ItemType, id: number): StockRecord | undefined {
    return this.stock.get(keyOf(type, id));
  }

  /** Creates or replaces a record; a new record past the bound is refused. */
  set(type: ItemType, id: number, quantity: number): SetOutcome {
    const existing = this.get(type, id);
    if (existing) {
      existing.quantity = quantity;
      return { kind: 'set', record: existing };
    }
    if (this.stock.size >= this.maxRecords) return { kind: 'full', max: this.maxRecords };
    const record = { type, id, quantity };
    this.stock.set(keyOf(type, id), record);
    this.ordered.splice(firstAfter(this.ordered, record, byPosition), 0, record);
    return { kind: 'set', record };
  }

  /** All or nothing, once per idempotency key. A refused reservation is not remembered: a retry may succeed. */
  reserve(idempotencyKey: string, lines: ReservationLine[]): ReserveOutcome {
    const items = normalise(lines);
    const earlier = this.reservations.get(idempotencyKey);
    if (earlier) {
      return isDeepStrictEqual(earlier.items, items)
        ? { kind: 'replayed', reservation: earlier.reservation }
        : { kind: 'key-reused' };
    }
    const short = items
      .map((line) => ({ ...line, available: this.get(line.type, line.id)?.quantity ?? 0 }))
      .filter((line) => line.available < line.quantity)
      .map(({ type, id, quantity, available }) => ({ type, id, requested: quantity, available }));
    if (short.length > 0) return { kind: 'short', short };
    if (this.reservations.size >= this.reservations.max) return { kind: 'full', max: this.reservations.max };

    for (const line of items) {
      const record = this.get(line.type, line.id) as StockRecord;
      record.quantity -= line.quantity;
    }
    const reservation = { reservationId: this.nextReservationId++, items };
    this.reservations.set(idempotencyKey, { items, reservation });
    return { kind: 'reserved', reservation };
  }
}
