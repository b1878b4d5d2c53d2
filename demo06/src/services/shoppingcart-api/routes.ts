import { type Request, Router } from 'express';
import { z } from 'zod';
import { DependencyUnavailable } from '../../lib/dependency.js';
import { HttpProblem, notFound } from '../../lib/problem.js';
import { id, idParam, intRange, itemType, itemTypeParam, parseBody } from '../../lib/validation.js';
import type { CatalogClient, InventoryClient } from './clients.js';
import type { Order } from '../../lib/contract.js';
import type { CartStore, StoredCart } from './store.js';

/** The user the gateway says the request is from; none when the cart service is called directly. */
const userOf = (req: Request): string | undefined => req.get('x-user-sub') || undefined;

export const addItemBody = z.strictObject({ type: itemType, id, quantity: intRange(1, 99) });

export function cartRoutes(store: CartStore, catalog: CatalogClient, inventory: InventoryClient): Router {
  const router = Router();
  /** Checkouts under way, by cart: a retry that arrives meanwhile waits for the same outcome. */
  const checkouts = new Map<number, Promise<Order>>();

  // A cart made for a user (the gateway says who in X-User-Sub) is only found for that user: for anyone else
  // it does not exist, so nobody learns which cart ids are taken.
  const find = (req: Request) => {
    const cartId = idParam(req);
    const cart = store.get(cartId);
    if (!cart || (cart.owner !== undefined && cart.owner !== userOf(req)))
      throw notFound(`cart ${cartId} does not exist`);
    return cart;
  };

  const mutable = (cart: StoredCart) => {
    if (cart.order) throw new HttpProblem(409, `cart ${cart.id} is already checked out`);
    if (cart.frozen) {
      throw new HttpProblem(
        409,
        `cart ${cart.id} has a checkout whose outcome is not known yet: retry the checkout`,
      );
    }
    return cart;
  };

  const checkout = async (cart: StoredCart): Promise<Order> => {
    cart.frozen = true;
    const items = cart.lines.map(({ type, id, quantity }) => ({ type, id, quantity }));
    // If this call times out or is cut off, the reservation may or may not have happened: the cart stays frozen,
    // and a retry sends the same key and body, which inventory-api answers exactly once.
    let reply;
    try {
      reply = await inventory.reserve(store.idempotencyKey(cart), items);
    } catch (err) {
      // Refused before it was sent (nothing listening, no route): it cannot have reserved anything.
      if (err instanceof DependencyUnavailable && !err.mayHaveArrived) cart.frozen = false;
      throw err;
    }
    if (reply.kind === 'reserved') return store.placeOrder(cart, reply.reservationId);
    cart.frozen = false; // refused: nothing was reserved
    if (reply.kind === 'short') {
      throw new HttpProblem(409, `not enough stock to check out cart ${cart.id}`, { short: reply.short });
    }
    throw new HttpProblem(503, `inventory-api refused the reservation (${reply.status}): ${reply.detail}`, {
      dependency: 'inventory-api',
    });
  };

  router.post('/api/carts', (req, res) => {
    const cart = store.create(userOf(req));
    res.status(201).location(`/api/carts/${cart.id}`).json(cart);
  });

  router.get('/api/carts/:id', (req, res) => {
    res.json(store.view(find(req)));
  });

  router.post('/api/carts/:id/items', async (req, res) => {
    const cart = mutable(find(req));
    const { type, id: itemId, quantity } = parseBody(addItemBody, req);
    const item = await catalog.find({ type, id: itemId });
    if (!item)
      throw new HttpProblem(422, `${type} ${itemId} does not exist in ${catalog.dependencies[type].name}`);
    res.json(store.addLine(mutable(cart), item, quantity));
  });

  router.delete('/api/carts/:id/items/:type/:itemId', (req, res) => {
    const cart = mutable(find(req));
    const ref = { type: itemTypeParam(req), id: idParam(req, 'itemId') };
    if (!store.removeLine(cart, ref)) throw notFound(`${ref.type} ${ref.id} is not in cart ${cart.id}`);
    res.json(store.view(cart));
  });

  router.post('/api/carts/:id/checkout', async (req, res) => {
    const cart = find(req);
    if (cart.order) {
      res.status(200).json(cart.order);
      return;
    }
    let attempt = checkouts.get(cart.id);
    const first = attempt === undefined;
    if (!attempt) {
      if (cart.lines.length === 0)
        throw new HttpProblem(422, `cart ${cart.id} is empty: nothing to check out`);
      attempt = checkout(cart).finally(() => checkouts.delete(cart.id));
      checkouts.set(cart.id, attempt);
    }
    const order = await attempt;
    res
      .status(first ? 201 : 200)
      .location(`/api/carts/${cart.id}`)
      .json(order);
  });

  return router;
}
