import type { Request, Response } from 'express';
import { z } from 'zod';
import { parse } from './validation.js';

/**
 * Keyset pagination for every list: `?limit=` (1–100, default 20) and `?after=` (the key of the last item of the
 * previous page). A page stays a plain JSON array, so a client that ignores paging still works; a
 * `Link: <…>; rel="next"` header (RFC 8288) is there exactly when another page follows.
 */

export const defaultPageSize = 20;
export const maxPageSize = 100;

export interface PageQuery<K> {
  limit: number;
  after?: K;
}

/** A query parameter given once; `?limit=1&limit=2` arrives as an array. */
const once = <T>(schema: z.ZodType<T, string>) =>
  z.string({ error: 'must be given once, as a single value' }).pipe(schema);

/** `limit`: how many items a page holds. */
export const pageLimit = z
  .string()
  .regex(/^(100|[1-9]\d?)$/, `must be an integer from 1 to ${maxPageSize}`)
  .transform(Number);

/**
 * The query schema of a list, built once per `after` schema: building a zod schema compiles it, which on every
 * request cost a catalog read most of its CPU.
 */
const querySchemas = new WeakMap<z.ZodType, z.ZodType>();
function querySchema(after: z.ZodType<unknown, string>): z.ZodType {
  let schema = querySchemas.get(after);
  if (!schema) {
    schema = z.strictObject({ limit: once(pageLimit).optional(), after: once(after).optional() });
    querySchemas.set(after, schema);
  }
  return schema;
}

/** A list's query: `limit` and `after`, nothing else; `after` is read by the list's own key schema. */
export function pageQuery<K>(req: Request, after: z.ZodType<K, string>): PageQuery<K> {
  const schema = querySchema(after);
  const query = parse(schema, req.query, 'query') as { limit?: number; after?: K };
  return { limit: query.limit ?? defaultPageSize, ...(query.after !== undefined && { after: query.after }) };
}

/** `after` as an item id: the id of the last item of the previous page (0: from the start). */
export const idKey = z
  .string()
  .regex(/^(0|[1-9]\d{0,14})$/, 'must be an item id (the last id of the previous page), or 0')
  .transform(Number);

/**
 * Answers a page: the items, and a `Link` to the next page when there is one. `more` says whether items
 * follow the last one; `keyOf` writes an item's key as `after=` takes it.
 */
export function sendPage<T>(
  req: Request,
  res: Response,
  page: { items: T[]; more: boolean },
  limitUsed: number,
  keyOf: (item: T) => string,
): void {
  const last = page.items.at(-1);
  if (page.more && last !== undefined) {
    const next = `${req.baseUrl}${req.path}?after=${encodeURIComponent(keyOf(last))}&limit=${limitUsed}`;
    res.setHeader('Link', `<${next}>; rel="next"`);
  }
  res.json(page.items);
}

/** The first index in an ascending array whose key is greater than `after` (binary search). */
export function firstAfter<T, K>(
  sorted: readonly T[],
  after: K | undefined,
  compare: (item: T, key: K) => number,
): number {
  if (after === undefined) return 0;
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(sorted[mid] as T, after) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** One page of an ascending array: up to `limit` items after the key, and whether more follow. */
export function pageOf<T, K>(
  sorted: readonly T[],
  { limit, after }: PageQuery<K>,
  compare: (item: T, key: K) => number,
): { items: T[]; more: boolean } {
  const start = firstAfter(sorted, after, compare);
  return { items: sorted.slice(start, start + limit), more: start + limit < sorted.length };
}
