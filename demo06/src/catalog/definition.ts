import type { z } from 'zod';
import type { ItemType } from '../lib/contract.js';

/**
 * What makes book-api, cd-api and dvd-api different: the names, the fields and the kind of number an
 * item gets. Everything else about a catalog is the same code.
 */
export interface CatalogDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  type: ItemType;
  /** The collection under /api, e.g. "books". */
  collection: string;
  /** The field holding the item's number, and the kind number-api hands out for it. */
  numberField: 'isbn' | 'ean';
  /** The item's own fields (the service adds `id` and the number). */
  fields: Shape;
  /** Items the catalog starts with; restarting the service brings them back. */
  fixtures: z.infer<z.ZodObject<Shape>>[];
}
