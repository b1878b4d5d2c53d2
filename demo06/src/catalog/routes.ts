import { Router } from 'express';
import { z } from 'zod';
import { idKey, pageQuery, sendPage } from '../lib/pagination.js';
import { HttpProblem, notFound } from '../lib/problem.js';
import { idParam, parseBody } from '../lib/validation.js';
import type { NumberClient } from './clients.js';
import type { CatalogDefinition } from './definition.js';
import type { CatalogStore } from './store.js';

/** The body of a create: the catalog's own fields, nothing else. */
export const createSchema = (definition: CatalogDefinition) => z.strictObject(definition.fields);

/** The body of a replace: a PUT may echo back the id and number it was given by a GET, but cannot change them. */
export const replaceSchema = (definition: CatalogDefinition) =>
  z.strictObject({
    ...definition.fields,
    id: z.unknown().optional(),
    [definition.numberField]: z.unknown().optional(),
  });

export function catalogRoutes(
  definition: CatalogDefinition,
  store: CatalogStore,
  numbers: NumberClient,
): Router {
  const { collection, type, numberField } = definition;
  const createBody = createSchema(definition);
  const replaceBody = replaceSchema(definition);
  const base = `/api/${collection}`;
  const router = Router();

  const find = (id: number) => {
    const item = store.get(id);
    if (!item) throw notFound(`${type} ${id} does not exist`);
    return item;
  };

  router.get(base, (req, res) => {
    const query = pageQuery(req, idKey);
    sendPage(req, res, store.page(query), query.limit, (item) => String(item.id));
  });

  router.get(`${base}/:id`, (req, res) => {
    res.json(find(idParam(req)));
  });

  router.post(base, async (req, res) => {
    const fields = parseBody(createBody, req);
    store.assertRoom();
    // Nothing is stored until number-api has answered: if it cannot, the 503 leaves the catalog as it was.
    const item = store.create(fields, await numbers.take(numberField));
    res.status(201).location(`${base}/${item.id}`).json(item);
  });

  router.put(`${base}/:id`, (req, res) => {
    const id = idParam(req);
    const { id: givenId, [numberField]: givenNumber, ...fields } = parseBody(replaceBody, req);
    const existing = find(id);
    const immutable = [
      ['id', givenId, id],
      [numberField, givenNumber, existing[numberField]],
    ].filter(([, given, actual]) => given !== undefined && given !== actual);
    if (immutable.length > 0) {
      const errors = immutable.map(([path]) => ({ path: String(path), message: 'cannot be changed' }));
      throw new HttpProblem(
        400,
        `invalid request body: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        {
          errors,
        },
      );
    }
    res.json(store.replace(id, fields));
  });

  router.delete(`${base}/:id`, (req, res) => {
    const id = idParam(req);
    find(id);
    store.delete(id);
    res.status(204).end();
  });

  return router;
}
