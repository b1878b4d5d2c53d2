import { z } from 'zod';
import {
  idParameter,
  invalid,
  jsonBody,
  limitProblem,
  type OpenApiDocument,
  operation,
  pageHeaders,
  pageParameters,
  problem,
  serviceDocument,
  shortProblem,
} from '../../lib/openapi.js';
import { id, itemType } from '../../lib/validation.js';
import { idempotencyKey, positionKey, quantityBody, reservationBody } from './routes.js';

export const stockRecord = z
  .object({ type: itemType, id, quantity: z.int().min(0) })
  .meta({ id: 'StockRecord', description: 'The stock of one item.' });

export const reservation = z
  .object({
    reservationId: z.int().positive(),
    items: z
      .array(z.object({ type: itemType, id, quantity: z.int().positive() }))
      .meta({ description: 'One line per item, ordered by type, then id.' }),
  })
  .meta({ id: 'Reservation' });

const record = z.object({
  type: itemType.meta({ description: "the item's type" }),
  id: idParameter("the item's id in its catalog"),
});

export function inventoryDocument(): OpenApiDocument {
  return serviceDocument({
    service: 'inventory-api',
    summary: 'Stock per item',
    description:
      'Holds the stock of every item and reserves it, all or nothing; concurrent reservations never take stock below zero.',
    tags: [
      { name: 'stock', description: 'Stock records, ordered by type, then id.' },
      { name: 'reservations', description: 'Taking stock, exactly once per idempotency key.' },
    ],
    paths: {
      '/api/inventory': {
        get: operation({
          operationId: 'listStock',
          summary: 'One page of stock records',
          tags: ['stock'],
          requestParams: {
            query: pageParameters(
              positionKey,
              'The last record of the previous page as `<type>:<id>`, e.g. `book:10`; `cd:0` starts at the first CD.',
            ),
          },
          responses: {
            200: {
              description: 'Up to `limit` records after `after`.',
              json: z.array(stockRecord),
              headers: pageHeaders,
            },
            400: invalid('A bad `limit` or `after`, one given twice, or another query parameter.'),
          },
        }),
      },
      '/api/inventory/{type}/{id}': {
        get: operation({
          operationId: 'getStock',
          summary: "One item's stock",
          tags: ['stock'],
          requestParams: { path: record },
          responses: {
            200: { description: 'The stock record.', json: stockRecord },
            400: invalid('A bad type or id.'),
            404: { description: 'The item has no stock record.', problem },
          },
        }),
        put: operation({
          operationId: 'setStock',
          summary: "Set an item's stock",
          description: 'Creates the record or replaces its quantity.',
          tags: ['stock'],
          requestParams: { path: record },
          requestBody: jsonBody(quantityBody, 'The quantity in stock.'),
          responses: {
            200: { description: 'The record as set.', json: stockRecord },
            400: invalid('A bad type or id, malformed JSON, or a bad quantity.'),
            507: {
              description: 'A new record, and inventory holds as many as it may.',
              problem: limitProblem,
            },
          },
        }),
      },
      '/api/inventory/reservations': {
        post: operation({
          operationId: 'reserve',
          summary: 'Reserve items, all or nothing',
          description:
            'The same key with the same items answers the first reservation again (200) and reserves nothing more; a key is remembered for an hour.',
          tags: ['reservations'],
          requestParams: {
            header: z.object({
              'Idempotency-Key': idempotencyKey.meta({
                description: 'Names the reservation: a retry sends the same key.',
                example: 'cart-7',
              }),
            }),
          },
          requestBody: jsonBody(reservationBody, 'The items and how many of each.'),
          responses: {
            201: { description: 'Reserved: the stock is taken.', json: reservation },
            200: {
              description: 'A retry: the first answer again, nothing more reserved.',
              json: reservation,
            },
            400: invalid('No or a bad Idempotency-Key, malformed JSON, or bad items.'),
            409: {
              description: 'Not enough stock for the items in `short`; nothing is reserved.',
              problem: shortProblem,
            },
            422: { description: 'The key was used for other items; nothing is reserved.', problem },
            507: {
              description: 'Too many recent reservations remembered; nothing is reserved.',
              problem: limitProblem,
            },
          },
        }),
      },
    },
  });
}
