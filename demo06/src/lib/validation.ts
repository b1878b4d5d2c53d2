import type { Request } from 'express';
import { z } from 'zod';
import type { ItemType } from './contract.js';
import { HttpProblem } from './problem.js';

type FieldError = { path: string; message: string };

function fieldErrors(issues: z.core.$ZodIssue[], unknownKey: string): FieldError[] {
  return issues.flatMap((issue) => {
    const at = issue.path.join('.');
    // An unknown field is named by its own path, so the message says which one to remove.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: at ? `${at}.${key}` : key, message: unknownKey }));
    }
    return [{ path: at || '(body)', message: issue.message }];
  });
}

/** Parses a value with a schema; a failure is a 400 listing every problem with its path. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error.issues, what === 'query' ? 'unknown parameter' : 'unknown field');
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  throw new HttpProblem(400, `invalid ${what}: ${summary}`, { errors });
}

export const parseBody = <S extends z.ZodType>(schema: S, req: Request): z.infer<S> =>
  parse(schema, req.body);

/** Ids are positive integers assigned by the owning service. */
/** The largest id: 15 digits, the most a path segment takes, so an id in a body can always be used in a path. */
export const maxId = 999_999_999_999_999;

export const id = z
  .number({ error: 'must be a positive integer' })
  .int('must be a positive integer')
  .positive('must be a positive integer')
  .max(maxId, 'is too large (at most 15 digits)');

/** A positive integer id as a path segment writes it: up to 15 digits, not all zeros. */
export const idSegment = z
  .string()
  .max(15)
  .regex(/^0*[1-9]\d*$/)
  .transform(Number);

/** A path parameter that must be a positive integer id. */
export function idParam(req: Request, name = 'id'): number {
  const raw = String(req.params[name]);
  const parsed = idSegment.safeParse(raw);
  if (!parsed.success) {
    throw new HttpProblem(400, `path parameter ${name} must be a positive integer, got "${raw}"`, {
      errors: [{ path: name, message: 'must be a positive integer' }],
    });
  }
  return parsed.data;
}

/** A trimmed string of 1 to `max` characters. */
export const text = (max = 200) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

/** An integer in [min, max]. */
export const intRange = (min: number, max: number) =>
  z
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const itemTypes = ['book', 'cd', 'dvd'] as const satisfies readonly ItemType[];
export const itemType = z.enum(itemTypes, { error: 'must be one of book, cd, dvd' });

/** A path parameter that must be an item type. */
export function itemTypeParam(req: Request, name = 'type'): ItemType {
  return parse(itemType, req.params[name], `path parameter ${name}`);
}
