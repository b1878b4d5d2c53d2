import { Router } from 'express';
import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { scrapeTargetRoutes } from '../../lib/scrape-targets.js';
import { storefrontBuilt, storefrontRoutes } from './routes.js';

export function buildApp(ctx: ServiceContext) {
  const routes = Router().use(scrapeTargetRoutes(ctx.registry), storefrontRoutes());
  return createServiceApp(ctx, routes, [{ name: 'storefront', check: storefrontBuilt }]);
}
