import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { inventoryRoutes } from './routes.js';
import { InventoryStore } from './store.js';

export function buildApp(ctx: ServiceContext) {
  return createServiceApp(ctx, inventoryRoutes(new InventoryStore(ctx.config.limits)));
}
