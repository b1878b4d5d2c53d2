import { createServiceApp, type ServiceContext } from '../lib/http-app.js';
import { Dependency } from '../lib/dependency.js';
import { NumberClient } from './clients.js';
import type { CatalogDefinition } from './definition.js';
import { catalogRoutes } from './routes.js';
import { CatalogStore } from './store.js';

/** The app factory of a catalog service; ready when number-api is reachable. */
export function catalogApp(definition: CatalogDefinition) {
  return (ctx: ServiceContext) => {
    const numberApi = new Dependency(ctx.registry.discover('number-api'), ctx.config.callTimeoutMs);
    const store = new CatalogStore(definition, ctx.config.limits.catalogMaxItems);
    const routes = catalogRoutes(definition, store, new NumberClient(numberApi));
    return createServiceApp(ctx, routes, [numberApi.readiness]);
  };
}
