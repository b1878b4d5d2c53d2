import { z } from 'zod';
import {
  dependencyProblem,
  idParameter,
  invalid,
  jsonBody,
  limitProblem,
  location,
  maybeLocation,
  type OpenApiDocument,
  operation,
  problem,
  serviceDocument,
  shortProblem,
} from '../../lib/openapi.js';
import { id, itemType } from '../../lib/validation.js';
import { addItemBody } from './routes.js';
import { maxLinesPerCart, maxQuantityPerLine } from './store.js';

const amount = z
  .number()
  .min(0)
  .meta({ description: 'An amount with at most two decimals, summed in cents.' });

const cartLine = z
  .object({
    type: itemType,
    id,
    title: z.string().meta({ description: 'from its catalog, when it was added' }),
    unitPrice: amount,
    quantity: z.int().min(1).max(maxQuantityPerLine),
    lineTotal: amount,
  })
  .meta({ id: 'CartLine' });

export const cart = z
  .object({
    id,
    status: z.enum(['open', 'checked-out']),
    items: z.array(cartLine).max(maxLinesPerCart),
    total: amount.meta({ description: 'The sum of the line totals.' }),
  })
  .meta({ id: 'Cart' });

export const order = z
  .object({
    orderId: z.int().positive(),
    cartId: id,
    reservationId: z.int().positive().meta({ description: "inventory-api's reservation of the items" }),
    items: z.array(cartLine).min(1),
    total: amount,
  })
  .meta({ id: 'Order' });

const tags = ['carts'];
const cartId = z.object({ id: idParameter("the cart's id") });
const noCart = {
  description: 'No cart has this id (an open cart is dropped after 30 idle minutes).',
  problem,
};
const locked = {
  description: 'The cart is checked out, or its checkout is under way: its content cannot change.',
  problem,
};

export function shoppingcartDocument(): OpenApiDocument {
  return serviceDocument({
    service: 'shoppingcart-api',
    summary: 'Carts and checkout',
    description:
      "Holds carts; an item's title and price come from its catalog. Checkout reserves the items in inventory-api with the cart as idempotency key, so a retried checkout reserves once.",
    tags: [{ name: 'carts', description: 'Carts, their lines and their checkout.' }],
    callsOthers: true,
    paths: {
      '/api/carts': {
        post: operation({
          operationId: 'createCart',
          summary: 'Create an empty cart',
          tags,
          responses: {
            201: { description: 'The new, open, empty cart.', json: cart, headers: { Location: location } },
            400: invalid('A body was sent and is not valid JSON (none is needed).'),
            507: { description: 'Too many open carts; no cart is created.', problem: limitProblem },
          },
        }),
      },
      '/api/carts/{id}': {
        get: operation({
          operationId: 'getCart',
          summary: 'A cart',
          tags,
          requestParams: { path: cartId },
          responses: {
            200: { description: 'The cart.', json: cart },
            400: invalid('The id is not a positive integer.'),
            404: noCart,
          },
        }),
      },
      '/api/carts/{id}/items': {
        post: operation({
          operationId: 'addToCart',
          summary: 'Add an item to a cart',
          description: `Its title and price come from its catalog; adding an item already in the cart adds to its quantity. At most ${maxLinesPerCart} different items and ${maxQuantityPerLine} of one.`,
          tags,
          callsOthers: true,
          requestParams: { path: cartId },
          requestBody: jsonBody(addItemBody, 'The item and how many.'),
          responses: {
            200: { description: 'The cart with the item.', json: cart },
            400: invalid('A bad id, malformed JSON, or a bad item.'),
            404: noCart,
            409: locked,
            422: {
              description: `The item does not exist in its catalog, or the cart would hold more than ${maxLinesPerCart} items or ${maxQuantityPerLine} of one.`,
              problem,
            },
            503: {
              description: 'The catalog cannot answer; the cart is unchanged.',
              problem: dependencyProblem,
            },
          },
        }),
      },
      '/api/carts/{id}/items/{type}/{itemId}': {
        delete: operation({
          operationId: 'removeFromCart',
          summary: 'Remove an item from a cart',
          tags,
          requestParams: {
            path: z.object({
              id: idParameter("the cart's id"),
              type: itemType.meta({ description: "the item's type" }),
              itemId: idParameter("the item's id in its catalog"),
            }),
          },
          responses: {
            200: { description: 'The cart without the item.', json: cart },
            400: invalid('A bad cart id, type or item id.'),
            404: { description: 'No such cart, or the item is not in it.', problem },
            409: locked,
          },
        }),
      },
      '/api/carts/{id}/checkout': {
        post: operation({
          operationId: 'checkout',
          summary: 'Check out a cart: reserve its items',
          description:
            'Checking out the same cart again answers the same order (200) and reserves nothing more, also when the first answer was lost.',
          tags,
          callsOthers: true,
          requestParams: { path: cartId },
          responses: {
            201: {
              description: 'The order: the items are reserved, the cart is checked out.',
              json: order,
              headers: { Location: location },
            },
            200: {
              description: 'The cart was checked out before: the same order.',
              json: order,
              headers: { Location: maybeLocation },
            },
            400: invalid('A bad id, or a body that is not valid JSON (none is needed).'),
            404: noCart,
            409: {
              description: 'Not enough stock for the items in `short`; the cart stays open.',
              problem: shortProblem,
            },
            422: { description: 'The cart is empty.', problem },
            503: {
              description:
                'inventory-api cannot answer, or refused; the cart is held until a retry knows the outcome.',
              problem: dependencyProblem,
            },
          },
        }),
      },
    },
  });
}
