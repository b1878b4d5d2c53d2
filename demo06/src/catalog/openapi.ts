import { z } from 'zod';
import {
  dependencyProblem,
  idParameter,
  invalid,
  jsonBody,
  limitProblem,
  location,
  type OpenApiDocument,
  operation,
  pageHeaders,
  pageParameters,
  problem,
  serviceDocument,
} from '../lib/openapi.js';
import { idKey } from '../lib/pagination.js';
import { id } from '../lib/validation.js';
import type { CatalogDefinition } from './definition.js';
import { createSchema, replaceSchema } from './routes.js';

/** How each catalog's items are named: in schema and operation names, and in prose. */
const names = {
  book: { name: 'Book', one: 'book', many: 'books' },
  cd: { name: 'CD', one: 'CD', many: 'CDs' },
  dvd: { name: 'DVD', one: 'DVD', many: 'DVDs' },
} as const;
const numbers = {
  isbn: z
    .string()
    .regex(/^978\d{10}$/)
    .meta({ description: 'ISBN-13 (valid check digit), from number-api', example: '9780000000017' }),
  ean: z
    .string()
    .regex(/^\d{13}$/)
    .meta({ description: 'EAN-13 (valid check digit), from number-api', example: '2000000000015' }),
};

/** An item as the catalog answers with it: its fields, with the id and number the service gave it. */
export const itemSchema = (definition: CatalogDefinition) =>
  z.object({ id, [definition.numberField]: numbers[definition.numberField], ...definition.fields }).meta({
    id: names[definition.type].name,
    description: `A ${names[definition.type].one} of the catalog.`,
  });

/** The document of a catalog service (book-api, cd-api, dvd-api). */
export function catalogDocument(definition: CatalogDefinition): OpenApiDocument {
  const { type, collection, numberField } = definition;
  const { name, one, many } = names[type];
  const number = numberField.toUpperCase();
  const item = itemSchema(definition);
  const tags = [collection];
  const itemId = z.object({ id: idParameter(`the ${one}'s id`) });
  const notFound = { description: `No ${one} has this id.`, problem };
  const badId = invalid('The id is not a positive integer.');

  return serviceDocument({
    service: `${type}-api`,
    summary: `The ${one} catalog`,
    description: `Owns the ${many}; each gets its ${number} from number-api when created. Strings are trimmed; their lengths count after trimming.`,
    tags: [{ name: collection, description: `The ${one} catalog, ordered by id.` }],
    callsOthers: true,
    paths: {
      [`/api/${collection}`]: {
        get: operation({
          operationId: `list${name}s`,
          summary: `One page of ${many}, by id`,
          tags,
          requestParams: {
            query: pageParameters(
              idKey,
              `The id of the last ${one} of the previous page; 0 starts from the first.`,
            ),
          },
          responses: {
            200: {
              description: `Up to \`limit\` ${many} after \`after\`.`,
              json: z.array(item),
              headers: pageHeaders,
            },
            400: invalid('A bad `limit` or `after`, one given twice, or another query parameter.'),
          },
        }),
        post: operation({
          operationId: `create${name}`,
          summary: `Create a ${one}`,
          description: `The new ${one} gets an id and a fresh ${number} from number-api; nothing is stored until number-api has answered.`,
          tags,
          callsOthers: true,
          requestBody: jsonBody(createSchema(definition), `The ${one}'s fields; no others.`),
          responses: {
            201: { description: `The new ${one}.`, json: item, headers: { Location: location } },
            400: invalid('Malformed JSON, a field missing or out of range, or an unknown field.'),
            503: { description: 'number-api cannot answer; nothing is created.', problem: dependencyProblem },
            507: { description: 'The catalog is full; nothing is created.', problem: limitProblem },
          },
        }),
      },
      [`/api/${collection}/{id}`]: {
        get: operation({
          operationId: `get${name}`,
          summary: `One ${one}`,
          tags,
          requestParams: { path: itemId },
          responses: { 200: { description: `The ${one}.`, json: item }, 400: badId, 404: notFound },
        }),
        put: operation({
          operationId: `replace${name}`,
          summary: `Replace a ${one}'s fields`,
          description: `The id and ${numberField} stay: the body may echo them back as a GET gave them, but not change them.`,
          tags,
          requestParams: { path: itemId },
          requestBody: jsonBody(
            replaceSchema(definition),
            `The ${one}'s fields, and optionally its unchanged id and ${numberField}.`,
          ),
          responses: {
            200: { description: `The ${one} as replaced.`, json: item },
            400: invalid(`A bad id, malformed JSON, an invalid field, or a changed id or ${numberField}.`),
            404: notFound,
          },
        }),
        delete: operation({
          operationId: `delete${name}`,
          summary: `Delete a ${one}`,
          tags,
          requestParams: { path: itemId },
          responses: { 204: { description: `The ${one} is gone.` }, 400: badId, 404: notFound },
        }),
      },
    },
  });
}
