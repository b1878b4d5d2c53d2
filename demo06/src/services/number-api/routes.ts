import { Router } from 'express';
import type { NumberStore } from './store.js';

export function numberRoutes(store: NumberStore): Router {
  const router = Router();
  router.post('/api/numbers/isbn', (_req, res) => {
    res.status(201).json({ isbn: store.isbn.take() });
  });
  router.post('/api/numbers/ean', (_req, res) => {
    res.status(201).json({ ean: store.ean.take() });
  });
  return router;
}
