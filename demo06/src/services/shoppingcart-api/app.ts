import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { CatalogClient, InventoryClient } from './clients.js';
import { cartRoutes } from './routes.js';
import { CartStore } from './store.js';

/** Ready when every catalog and inventory-api are reachable. */
export function buildApp(ctx: ServiceContext) {
  const { registry, config } = ctx;
  const catalog = new CatalogClient(registry, config.callTimeoutMs);
  const inventory = new InventoryClient(registry, config.callTimeoutMs);
  const dependencies = [...Object.values(catalog.dependencies), inventory.dependency];
  return createServiceApp(
    ctx,
    cartRoutes(new CartStore(ctx.config.limits), catalog, inventory),
    dependencies.map((dependency) => dependency.readiness),
  );
}
