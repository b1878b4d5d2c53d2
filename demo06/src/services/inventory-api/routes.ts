import { Router } from 'express';
import { z } from 'zod';
import { pageQuery, sendPage } from '../../lib/pagination.js';
import { HttpProblem, notFound } from '../../lib/problem.js';
import { id, idParam, intRange, itemType, itemTypeParam, parse, parseBody } from '../../lib/validation.js';
import type { ItemType } from '../../lib/contract.js';
import type { InventoryStore } from './store.js';

export const quantityBody = z.strictObject({ quantity: intRange(0, 1_000_000) });

export const reservationBody = z.strictObject({
  items: z
    .array(z.strictObject({ type: itemType, id, quantity: intRange(1, 1_000_000) }), {
      error: 'must be an array',
    })
    .min(1, 'must hold at least 1 item')
    .max(50, 'must hold at most 50 items'),
});

/** `after` of a stock page: the type and id of the previous page's last record, e.g. `book:10` (`cd:0`: the first CD). */
export const positionKey = z
  .string()
  .regex(
    /^(book|cd|dvd):(0|[1-9]\d{0,14})$/,
    'must be <type>:<id> (the last record of the previous page), e.g. book:10',
  )
  .transform((value) => {
    const [type, id] = value.split(':');
    return { type: type as ItemType, id: Number(id) };
  });

export const idempotencyKey = z
  .string({ error: 'is required' })
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters');

export function inventoryRoutes(store: InventoryStore): Router {
  const router = Router();

  router.get('/api/inventory', (req, res) => {
    const query = pageQuery(req, positionKey);
    sendPage(req, res, store.page(query), query.limit, (r) => `${r.type}:${r.id}`);
  });

  router.get('/api/inventory/:type/:id', (req, res) => {
    const type = itemTypeParam(req);
    const itemId = idParam(req);
    const record = store.get(type, itemId);
    if (!record) throw notFound(`${type} ${itemId} has no stock record`);
    res.json(record);
  });

  router.put('/api/inventory/:type/:id', (req, res) => {
    const type = itemTypeParam(req);
    const itemId = idParam(req);
    const { quantity } = parseBody(quantityBody, req);
    const outcome = store.set(type, itemId, quantity);
    if (outcome.kind === 'full') {
      throw new HttpProblem(507, `inventory-api holds at most ${outcome.max} stock records`, {
        limit: outcome.max,
      });
    }
    res.json(outcome.record);
  });

  router.post('/api/inventory/reservations', (req, res) => {
    const key = parse(idempotencyKey, req.get('idempotency-key'), 'Idempotency-Key header');
    const { items } = parseBody(reservationBody, req);
    const outcome = store.reserve(key, items);
    switch (outcome.kind) {
      case 'reserved':
        res.status(201).json(outcome.reservation);
        return;
      case 'replayed':
        res.status(200).json(outcome.reservation);
        return;
      case 'key-reused':
        throw new HttpProblem(
          422,
          `Idempotency-Key "${key}" was already used for a reservation with other items`,
        );
      case 'full':
        throw new HttpProblem(
          507,
          `inventory-api remembers at most ${outcome.max} recent reservations: try again later`,
          { limit: outcome.max },
        );
      case 'short':
        throw new HttpProblem(
          409,
          `not enough stock for ${outcome.short.map((s) => `${s.type} ${s.id}`).join(', ')}`,
          {
            short: outcome.short,
          },
        );
    }
  });

  return router;
}
