import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { storefrontBuilt, storefrontRoutes } from './routes.js';

export function buildApp(ctx: ServiceContext) {
  return createServiceApp(ctx, storefrontRoutes(), [{ name: 'storefront', check: storefrontBuilt }]);
}
