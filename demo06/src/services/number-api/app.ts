import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { numberRoutes } from './routes.js';
import { createNumberStore } from './store.js';

export function buildApp(ctx: ServiceContext) {
  return createServiceApp(ctx, numberRoutes(createNumberStore()));
}
