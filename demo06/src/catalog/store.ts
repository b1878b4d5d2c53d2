import { withCheckDigit } from '../lib/check-digit.js';
import { firstAfter, type PageQuery, pageOf } from '../lib/pagination.js';
import { HttpProblem } from '../lib/problem.js';
import type { CatalogDefinition } from './definition.js';

const byId = (id: number, key: number) => id - key;

export type Fields = Record<string, unknown>;
export type Item = { id: number } & Fields;

/** The catalog's items, in memory, seeded from the definition's fixtures, at most `maxItems` of them. */
export class CatalogStore {
  private readonly items = new Map<number, Item>();
  /** Ids in ascending order, for keyset pages; a new id is always the largest, so creating appends. */
  private readonly ids: number[] = [];
  private nextId = 1;
  private readonly numberField: string;
  private readonly type: string;
  readonly maxItems: number;

  constructor(definition: CatalogDefinition, maxItems: number) {
    this.numberField = definition.numberField;
    this.type = definition.type;
    this.maxItems = Math.max(maxItems, definition.fixtures.length);
    // Seeded numbers are fixed (so a lab can refer to them) and valid: a fixed prefix, the id, a check digit.
    const prefix = definition.numberField === 'isbn' ? '978' : '20';
    for (const fixture of definition.fixtures) {
      const id = this.nextId;
      this.create(fixture, withCheckDigit(prefix + String(id).padStart(12 - prefix.length, '0')));
    }
  }

  page(query: PageQuery<number>): { items: Item[]; more: boolean } {
    const { items, more } = pageOf(this.ids, query, byId);
    return { items: items.map((id) => this.items.get(id) as Item), more };
  }

  get(id: number): Item | undefined {
    return this.items.get(id);
  }

  /** A 507 when the catalog is full: checked before a number is taken, so a refused create costs nothing. */
  assertRoom(): void {
    if (this.items.size >= this.maxItems) {
      throw new HttpProblem(
        507,
        `the ${this.type} catalog is full (${this.maxItems} items): delete some before creating more`,
        { limit: this.maxItems },
      );
    }
  }

  create(fields: Fields, number: string): Item {
    this.assertRoom();
    const item = { id: this.nextId++, [this.numberField]: number, ...fields };
    this.items.set(item.id, item);
    this.ids.push(item.id);
    return item;
  }

  /** Replaces an item's fields; its id and number stay. */
  replace(id: number, fields: Fields): Item | undefined {
    const existing = this.items.get(id);
    if (!existing) return undefined;
    const item = { id, [this.numberField]: existing[this.numberField], ...fields };
    this.items.set(id, item);
    return item;
  }

  delete(id: number): boolean {
    if (!this.items.delete(id)) return false;
    this.ids.splice(firstAfter(this.ids, id - 1, byId), 1);
    return true;
  }
}
