/**
 * fast-check arbitraries for the store's contract (docs/API.md): values it allows and values it forbids, for
 * bodies, path segments, queries and headers. Fields and bounds are derived from the zod schemas and constants the
 * services validate with (a catalog definition's `fields`, the inventory's and the cart's body schemas); what no
 * service exports (how ids and queries are written, the body limit) is written down from docs/API.md here.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { defaultPageSize, maxPageSize } from '../../src/lib/pagination.js';
import { id as idSchema, itemTypes } from '../../src/lib/validation.js';
import { idempotencyKey, quantityBody, reservationBody } from '../../src/services/inventory-api/routes.js';
import { addItemBody } from '../../src/services/shoppingcart-api/routes.js';
import { maxLinesPerCart, maxQuantityPerLine } from '../../src/services/shoppingcart-api/store.js';

// A failing property prints its seed: FC_SEED=<seed> replays the same inputs. FC_RUNS=<factor> scales every
// property's number of runs (e.g. FC_RUNS=10 for a longer search).
const seed = Number(process.env.FC_SEED);
const scale = Number(process.env.FC_RUNS ?? 1) || 1;
fc.configureGlobal({ numRuns: 100, ...(Number.isInteger(seed) && { seed }) });

/** fast-check parameters for a property with `n` runs (scaled by FC_RUNS). */
export const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * scale)) });

const jsonSchemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' }) as Record<string, any>;
const stockQuantity = jsonSchemaOf(quantityBody).properties.quantity;
const reservationItems = jsonSchemaOf(reservationBody).properties.items;
const reservationQuantity = reservationItems.items.properties.quantity;
const cartQuantity = jsonSchemaOf(addItemBody).properties.quantity;

/** The bounds of the contract, as the services' own schemas and constants state them (docs/API.md says the same). */
export const contract = {
  itemTypes,
  /** An id in a body (`"id": <int>`). */
  id: { min: 1, max: jsonSchemaOf(idSchema).maximum as number },
  page: { defaultLimit: defaultPageSize, maxLimit: maxPageSize },
  /** PUT /api/inventory/{type}/{id}: `{"quantity": …}`. */
  stock: { min: stockQuantity.minimum as number, max: stockQuantity.maximum as number },
  reservation: {
    minQuantity: reservationQuantity.minimum as number,
    maxQuantity: reservationQuantity.maximum as number,
    minItems: reservationItems.minItems as number,
    maxItems: reservationItems.maxItems as number,
    keyMaxLength: jsonSchemaOf(idempotencyKey).maxLength as number,
  },
  cart: {
    minQuantity: cartQuantity.minimum as number,
    maxQuantity: maxQuantityPerLine,
    maxLines: maxLinesPerCart,
  },
  /** docs/API.md: "at most 64 KiB". */
  bodyLimitBytes: 64 * 1024,
};

export type ItemType = (typeof contract.itemTypes)[number];

// ---------------------------------------------------------------------------------------------------------
// Fields, derived from the zod schemas

export type FieldSpec =
  | { name: string; required: boolean; kind: 'text'; minLength: number; maxLength: number }
  | { name: string; required: boolean; kind: 'integer'; min: number; max: number }
  | { name: string; required: boolean; kind: 'enum'; values: readonly string[] }
  /** Money (docs/API.md, "Money"): a number with at most two decimals, so it is generated in cents. */
  | { name: string; required: boolean; kind: 'money'; minCents: number; maxCents: number };

interface JsonSchemaField {
  type?: string;
  enum?: string[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
}

/** An object's fields as the service's own zod schema states them (via zod's JSON Schema export). */
export function fieldSpecs(fields: z.ZodRawShape): FieldSpec[] {
  const schema = z.toJSONSchema(z.strictObject(fields), { io: 'input' }) as {
    properties: Record<string, JsonSchemaField>;
    required?: string[];
  };
  return Object.entries(schema.properties).map(([name, field]): FieldSpec => {
    const required = schema.required?.includes(name) ?? false;
    if (field.type === 'string' && field.minLength !== undefined && field.maxLength !== undefined) {
      return { name, required, kind: 'text', minLength: field.minLength, maxLength: field.maxLength };
    }
    const min =
      field.minimum ?? (field.exclusiveMinimum === undefined ? undefined : field.exclusiveMinimum + 1);
    if (field.type === 'integer' && min !== undefined && field.maximum !== undefined) {
      return { name, required, kind: 'integer', min, max: field.maximum };
    }
    if (field.type === 'number' && field.minimum !== undefined && field.exclusiveMaximum !== undefined) {
      const maxCents = Math.ceil(field.exclusiveMaximum * 100) - 1;
      return { name, required, kind: 'money', minCents: Math.ceil(field.minimum * 100), maxCents };
    }
    if (field.type === 'string' && field.enum !== undefined) {
      return { name, required, kind: 'enum', values: field.enum };
    }
    throw new Error(`field ${name} has a shape the arbitraries do not know: ${JSON.stringify(field)}`);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Strings

const charOf = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));
const visibleAscii = charOf(0x21, 0x7e);
const whitespace = fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000', '\ufeff');

/** Mostly printable ASCII, with some whitespace, other scripts, astral characters, controls and lone surrogates. */
const textUnit = fc.oneof(
  { weight: 20, arbitrary: charOf(0x20, 0x7e) },
  { weight: 2, arbitrary: whitespace },
  { weight: 2, arbitrary: fc.constantFrom('é', 'ß', 'Ж', '日', 'ا', 'ñ', '€', '"', '\\', '<', '>', '&') },
  { weight: 1, arbitrary: fc.constantFrom('😀', '𝄞', '🇺🇦') },
  { weight: 1, arbitrary: charOf(0x00, 0x1f) },
  { weight: 1, arbitrary: charOf(0xd800, 0xdfff) },
);

/** Any string, as a person or a script might send it. */
export const anyText = (maxLength = 40) => fc.string({ unit: textUnit, maxLength });

/** A text field's value the contract allows: trimmed, it has minLength–maxLength characters. */
export function validText(minLength: number, maxLength: number): fc.Arbitrary<string> {
  const fits = (s: string) => s.trim().length >= minLength && s.trim().length <= maxLength;
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.string({ unit: textUnit, minLength, maxLength: Math.min(maxLength, 40) }) },
      // At the upper bound, possibly padded with whitespace the service trims away.
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.string({ unit: whitespace, maxLength: 3 }),
            fc.string({ unit: visibleAscii, minLength: maxLength - 2, maxLength }),
            fc.string({ unit: whitespace, maxLength: 3 }),
          )
          .map(([before, core, after]) => before + core + after),
      },
    )
    .filter(fits);
}

/** A text field's value the contract forbids: empty or blank, or longer than maxLength once trimmed. */
export function invalidText(maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(''),
    fc.string({ unit: whitespace, minLength: 1, maxLength: 6 }),
    fc.string({ unit: visibleAscii, minLength: maxLength + 1, maxLength: maxLength + 30 }),
  );
}

/** Values of a JSON type other than the expected one (`expected` is left out). */
export function wrongType(expected: 'string' | 'number'): fc.Arbitrary<unknown> {
  return fc.oneof(
    expected === 'string' ? fc.oneof(fc.integer(), fc.double({ noNaN: true })) : fc.string({ maxLength: 8 }),
    // A number written as a string is a wrong type too.
    expected === 'number' ? fc.integer({ min: 0, max: 2100 }).map(String) : fc.constant(null),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

/** An integer field's value the contract forbids: outside [min, max], fractional, or not a number. */
export function invalidInteger(min: number, max: number): fc.Arbitrary<unknown> {
  const outside = [
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }),
    ...(max < Number.MAX_SAFE_INTEGER ? [fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER })] : []),
  ];
  return fc.oneof(
    ...outside,
    fc.constantFrom(1e21, 1e300, -1e300, Number.MAX_VALUE, min - 0.5, max + 0.5),
    fc.integer({ min, max: Math.min(max, 2 ** 31) - 1 }).map((n) => n + 0.5),
    fc.double({ min, max, noNaN: true }).filter((n) => !Number.isInteger(n)),
    wrongType('number'),
  );
}

/** A money value the contract allows: from minCents to maxCents, at most two decimals. */
export const validMoney = (minCents: number, maxCents: number) =>
  fc
    .oneof(fc.integer({ min: minCents, max: maxCents }), fc.constantFrom(minCents, maxCents, 99, 1999))
    .map((cents) => cents / 100);

/** A money value the contract forbids: negative, too large, three decimals or more, not a number. */
export function invalidMoney(minCents: number, maxCents: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.integer({ min: -1e9, max: minCents - 1 }).map((cents) => cents / 100),
    fc.integer({ min: maxCents + 1, max: 1e12 }).map((cents) => cents / 100),
    fc
      .integer({ min: minCents * 10, max: maxCents * 10 })
      .filter((mills) => mills % 10 !== 0)
      .map((mills) => mills / 1000),
    fc.constantFrom(1e21, Number.MAX_VALUE, -0.001),
    wrongType('number'),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Bodies

export function validValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'text':
      return validText(spec.minLength, spec.maxLength);
    case 'integer':
      return fc.oneof(fc.integer({ min: spec.min, max: spec.max }), fc.constantFrom(spec.min, spec.max));
    case 'money':
      return validMoney(spec.minCents, spec.maxCents);
    case 'enum':
      return fc.constantFrom(...spec.values);
  }
}

export function invalidValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'text':
      return fc.oneof(invalidText(spec.maxLength), wrongType('string'));
    case 'integer':
      return invalidInteger(spec.min, spec.max);
    case 'money':
      return invalidMoney(spec.minCents, spec.maxCents);
    case 'enum':
      return fc.oneof(
        fc.constantFrom(...spec.values).map((v) => v.toUpperCase()),
        fc.constantFrom(...spec.values).map((v) => ` ${v}`),
        fc.string({ unit: textUnit, maxLength: 8 }).filter((v) => !spec.values.includes(v)),
        wrongType('string'),
      );
  }
}

/** A body with every required field and some optional ones, each with a value the contract allows. */
export function validBody(specs: FieldSpec[]): fc.Arbitrary<Record<string, unknown>> {
  const model = Object.fromEntries(specs.map((spec) => [spec.name, validValue(spec)]));
  return fc.record(model, { requiredKeys: specs.filter((s) => s.required).map((s) => s.name) });
}

/** What the service stores for a valid body: the same fields, strings trimmed. */
export function stored(specs: FieldSpec[], body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([name, value]) => [
      name,
      specs.find((s) => s.name === name)?.kind === 'text' ? (value as string).trim() : value,
    ]),
  );
}

/** A copy of `object` with an own property `key`, even for keys such as "__proto__". */
export function withField(object: Record<string, unknown>, key: string, value: unknown) {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export function withoutField(object: Record<string, unknown>, key: string) {
  return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
}

/** Field names a body must not carry, besides those in `known`. */
export function unknownKey(known: readonly string[]): fc.Arbitrary<string> {
  const names = new Set(known);
  return fc
    .oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' '),
      fc.constantFrom(...known).map((k) => k.toUpperCase()),
      fc.constantFrom(...known).map((k) => `${k} `),
      fc.constantFrom('id', 'isbn', 'ean', 'color', 'stock', 'quantity', 'createdAt'),
      fc.string({ unit: textUnit, maxLength: 12 }),
    )
    .filter((key) => !names.has(key));
}

export interface Forbidden {
  why: string;
  body: unknown;
}

/** Something that is not a JSON object. */
export const notAnObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.string({ maxLength: 10 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

/**
 * A body the contract forbids, for an object with these fields: a required field missing, a field with a
 * forbidden value, an unknown field, or not an object at all. `allowed` are extra keys the endpoint accepts.
 */
export function forbiddenBody(specs: FieldSpec[], allowed: readonly string[] = []): fc.Arbitrary<Forbidden> {
  const base = validBody(specs);
  const required = specs.filter((s) => s.required).map((s) => s.name);
  const variants: fc.Arbitrary<Forbidden>[] = [
    fc.tuple(base, fc.constantFrom(...specs)).chain(([body, spec]) =>
      invalidValue(spec).map((value) => ({
        why: `${spec.name} = ${JSON.stringify(value)}`,
        body: withField(body, spec.name, value),
      })),
    ),
    fc
      .tuple(base, unknownKey([...specs.map((s) => s.name), ...allowed]), fc.jsonValue({ maxDepth: 1 }))
      .map(([body, key, value]) => ({
        why: `unknown field ${JSON.stringify(key)}`,
        body: withField(body, key, value),
      })),
    notAnObject.map((body) => ({ why: 'not an object', body })),
  ];
  if (required.length > 0) {
    variants.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([body, name]) => ({
        why: `${name} missing`,
        body: withoutField(body, name),
      })),
    );
  }
  return fc.oneof(...variants);
}

/** Text that is not JSON at all (as raw bytes when it is not even UTF-8). */
export const malformedJson: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom(
    '{',
    '{"title": ',
    '[1, 2',
    '{"a": 1,}',
    "{'a': 1}",
    '{"a" 1}',
    '{"a": 01}',
    '{"a": NaN}',
    '{"a": undefined}',
    'tru',
    '"unterminated',
    '   ',
    '\u0000',
    '{}}',
    '[]]',
    '{"a": "\\x41"}',
    '{"a": 1} {"b": 2}',
  ),
  fc.string({ unit: textUnit, minLength: 1, maxLength: 30 }).filter((text) => !parses(text)),
  fc
    .uint8Array({ minLength: 1, maxLength: 30 })
    .map((bytes) => Buffer.from(bytes))
    .filter((bytes) => !parses(bytes.toString('utf8'))),
);

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return text.trim().length > 0;
  } catch {
    return false;
  }
}

/** Content types that are not JSON; `undefined` sends a body with no Content-Type at all. */
export const notJsonContentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/json',
  'application/octet-stream',
  'application/javascript',
  'image/png',
);

/** Content types a client might send with any body: the robustness properties only require no 5xx. */
export const anyContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  notJsonContentType,
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=utf-7',
    'application/json; charset="nope"',
    'application/merge-patch+json',
    'application/problem+json',
    'APPLICATION/JSON',
    'application/json;;;',
    '*/*',
    '',
  ),
);

// ---------------------------------------------------------------------------------------------------------
// Path segments, ids and queries

/** Percent-encodes every byte of the UTF-8 form except unreserved characters (RFC 3986); never throws. */
export function pct(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A positive integer id, as a path segment or an `after=` key writes it. */
export const validId = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 999_999_999_999_999 }) },
);

/** Ids a body may carry (`"id": <int>`), up to the largest one. */
export const bodyId = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 60 }) },
  { weight: 1, arbitrary: fc.integer(contract.id) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ...[contract.id.max, 2 ** 31, 2 ** 32, 1e15 - 1].filter((n) => n <= contract.id.max),
    ),
  },
);

/**
 * Whether a path id or `after=` key is clearly not an id (a positive integer up to the largest id). Texts that
 * a lenient reader might take as one (" 1", "+1", "1.0", "1e3", "0x1f", leading zeros) are left out: the
 * contract does not say, so properties only require that they get no 5xx.
 */
export const clearlyNotAnId = (text: string) =>
  !(Number.isSafeInteger(Number(text)) && Number(text) >= contract.id.min && Number(text) <= contract.id.max);

/** A path id (decoded, never empty) that is not a positive integer: zero, negative, fractional, huge, words. */
export const invalidIdText: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom('0', '-0', '-1', '1.5', 'NaN', 'Infinity', '-Infinity', 'null', 'true', '[1]'),
    fc.constantFrom('١', '１', '²', 'one', '1,000', '1_000', '%', '..', '.', '1/2', '\u0000', '1;2'),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }).map(String),
    fc.integer({ min: 1, max: 1e6 }).map((n) => `${n}.${(n % 9) + 1}`),
    // Beyond the largest id.
    fc.bigInt({ min: BigInt(contract.id.max) + 1n, max: 10n ** 40n }).map(String),
    fc.string({ unit: textUnit, minLength: 1, maxLength: 12 }),
  )
  .filter((text) => text !== '' && clearlyNotAnId(text));

/** Id-like texts the contract leaves unclear (see clearlyNotAnId). */
export const unclearIdText = fc.constantFrom(
  '01',
  '0000000000000001',
  '+1',
  ' 1',
  '1 ',
  '1.0',
  '1e3',
  '0x1f',
);

/** A path segment a client might send: valid ids, invalid ones, any text, raw (possibly broken) escapes. */
export const anySegment: fc.Arbitrary<string> = fc.oneof(
  validId.map(String),
  invalidIdText.map(pct),
  fc.string({ unit: textUnit, maxLength: 20 }).map(pct),
  fc.constantFrom('%', '%zz', '%C3', '%E2%82', '%FF%FE', '%00', '%2F', '%5C', '..', '.', '', '%2e%2e'),
  unclearIdText.map(pct),
  fc.constantFrom('9007199254740992', '99999999999999999999'),
);

/** An item type segment a client might send; valid ones among them. */
export const anyTypeSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...contract.itemTypes),
  fc.constantFrom('BOOK', 'Book', 'books', 'vinyl', 'tape', '', 'book ', '__proto__', 'constructor'),
  fc.string({ unit: textUnit, maxLength: 8 }),
);

export const itemType = fc.constantFrom(...contract.itemTypes);

/** `{"type", "id", "quantity"}` as POST /api/carts/{id}/items takes it. */
export const cartItemSpecs = fieldSpecs(addItemBody.shape);

/** A line of a reservation, `{"type", "id", "quantity"}`, as POST /api/inventory/reservations takes it. */
export const reservationLineSpecs = fieldSpecs(reservationBody.shape.items.element.shape);

/** `{"quantity"}` as PUT /api/inventory/{type}/{id} takes it. */
export const stockSpecs = fieldSpecs(quantityBody.shape);

/** How a query's values are written: those the contract allows, those it forbids, and unclear ones. */
export type QueryValue = { text: string; class: 'valid' | 'invalid' | 'unclear' };

/** `limit`: an integer from 1 to 100. Leading zeros, signs and exponents are left unclear. */
export const limitValue: fc.Arbitrary<QueryValue> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: contract.page.maxLimit }))
      .map((n) => valid(String(n))),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom('0', '-1', '101', '1000', '1.5', 'abc', '', 'NaN', 'Infinity', 'null', '20abc'),
        fc.integer({ min: contract.page.maxLimit + 1, max: Number.MAX_SAFE_INTEGER }).map(String),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }).map(String),
        fc.bigInt({ min: 10n ** 16n, max: 10n ** 30n }).map(String),
      )
      .map(invalid),
  },
  { weight: 1, arbitrary: fc.constantFrom('010', '+5', ' 5', '5 ', '5.0', '1e1', '0x10').map(unclear) },
);

/** `after=0` ("from the start") is not an item's id, but the contract does not forbid it either. */
const unclearAfterId = fc.oneof(unclearIdText, fc.constant('0'));

/** `after` for a catalog: an item's id (the last of the previous page). */
export const idAfterValue: fc.Arbitrary<QueryValue> = fc.oneof(
  { weight: 3, arbitrary: validId.map((n) => valid(String(n))) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constant(''),
        invalidIdText.filter((s) => s !== '0'),
      )
      .map(invalid),
  },
  { weight: 1, arbitrary: unclearAfterId.map(unclear) },
);

/** `after` for the inventory: `<type>:<id>`. */
export const recordAfterValue: fc.Arbitrary<QueryValue> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(itemType, validId).map(([type, id]) => valid(`${type}:${id}`)) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom('book', 'book:', ':1', ':', '10', 'vinyl:1', 'book:-1', 'book:abc'),
        fc.constantFrom('book:1:2', 'book:1.5', 'BOOK:1', 'book :1', 'book;1', 'book/1', ''),
        fc
          .tuple(
            itemType,
            invalidIdText.filter((s) => s !== '0'),
          )
          .map(([type, id]) => `${type}:${id}`),
        fc.string({ unit: textUnit, maxLength: 10 }).filter((s) => !/^(book|cd|dvd):/.test(s)),
      )
      .map(invalid),
  },
  { weight: 1, arbitrary: fc.tuple(itemType, unclearAfterId).map(([type, id]) => unclear(`${type}:${id}`)) },
);

function valid(text: string): QueryValue {
  return { text, class: 'valid' };
}
function invalid(text: string): QueryValue {
  return { text, class: 'invalid' };
}
function unclear(text: string): QueryValue {
  return { text, class: 'unclear' };
}

export interface ListQuery {
  pairs: [string, string][];
  /** What the contract says of it: 'valid' (200, a page), 'invalid' (400), or 'unclear' (only no 5xx). */
  class: QueryValue['class'];
  limit?: string;
  after?: string;
}

/**
 * A list's query: `limit` and `after` with values of every class, sometimes repeated or joined by unknown
 * parameters, in any order. Unknown and repeated parameters are forbidden.
 */
export function listQuery(after: fc.Arbitrary<QueryValue>): fc.Arbitrary<ListQuery> {
  const pair = fc.oneof(
    { weight: 4, arbitrary: limitValue.map((value) => ['limit', value] as const) },
    { weight: 4, arbitrary: after.map((value) => ['after', value] as const) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'offset',
            'page',
            'sort',
            'Limit',
            'LIMIT',
            'limit[]',
            'after[]',
            'q',
            '__proto__',
            '',
          ),
          fc.string({ unit: textUnit, minLength: 1, maxLength: 8 }),
        ),
        fc.string({ maxLength: 5 }).map(valid),
      ),
    },
  );
  return fc.array(pair, { maxLength: 3 }).map((entries) => {
    const keys = entries.map(([key]) => key);
    const unknown = keys.some((key) => key !== 'limit' && key !== 'after');
    const repeated = new Set(keys).size !== keys.length;
    const classes = entries.map(([, value]) => value.class);
    const found = (key: string) => entries.find(([k]) => k === key)?.[1].text;
    const limit = found('limit');
    const afterText = found('after');
    return {
      pairs: entries.map(([key, value]) => [key, value.text]),
      class:
        unknown || repeated || classes.includes('invalid')
          ? 'invalid'
          : classes.includes('unclear')
            ? 'unclear'
            : 'valid',
      ...(limit !== undefined && { limit }),
      ...(afterText !== undefined && { after: afterText }),
    };
  });
}

/** A query string as written on the wire (without the `?`). */
export const queryString = (pairs: [string, string][]) =>
  pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');

/** Any query string, written raw: broken escapes, bare keys, stray separators. */
export const anyQuery: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.tuple(fc.string({ unit: textUnit, maxLength: 8 }), anyText(8)), { maxLength: 4 })
    .map(queryString),
  fc.constantFrom(
    '&',
    '&&',
    '=',
    '==',
    'limit',
    'limit=',
    'limit=%',
    'limit=%zz',
    'after=%C3',
    '%=%',
    '?',
    '#',
  ),
  fc.constantFrom('limit=5&limit=5', 'limit=5;after=1', 'limit=5%26after%3D1', 'a[b]=1', 'limit[0]=1'),
);

// ---------------------------------------------------------------------------------------------------------
// Headers

/** An Idempotency-Key the contract allows: 1–100 visible characters (spaces inside allowed). */
export const validIdempotencyKey: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: charOf(0x20, 0x7e), minLength: 1, maxLength: contract.reservation.keyMaxLength }),
    fc.string({ unit: visibleAscii, minLength: 95, maxLength: contract.reservation.keyMaxLength }),
  )
  .filter((key) => key.trim() === key && key.length > 0);

/** An Idempotency-Key the contract forbids: absent, empty, or over 100 characters. */
export const invalidIdempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(''),
  fc.string({ unit: visibleAscii, minLength: contract.reservation.keyMaxLength + 1, maxLength: 300 }),
);
