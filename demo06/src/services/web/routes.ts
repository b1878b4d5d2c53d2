import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { serviceNames } from '../../lib/config.js';
import { stage } from '../../lib/stage.js';

/** The storefront's static files, compiled next to the services (dist/web). */
export const staticDir = fileURLToPath(new URL('../../web/', import.meta.url));

/** The APIs the browser calls, as the storefront names them. */
const apis = ['book', 'cd', 'dvd', 'inventory', 'cart'] as const;

export function storefrontRoutes(): Router {
  const router = Router();
  // The page comes through the gateway, which routes every API and the log-in on the same origin: every URL is
  // the gateway's (its X-Forwarded-Host), so one build works on localhost, in compose and on the Pis, and the
  // browser needs no CORS.
  router.get('/config.json', (req, res) => {
    const origin = `${req.get('x-forwarded-proto') ?? req.protocol}://${req.get('x-forwarded-host') ?? req.get('host')}`;
    res.json({
      stage,
      apis: Object.fromEntries(apis.map((name) => [name, origin])),
      auth: { token: `${origin}/auth/token` },
      // For the API page: the gateway serves each service's OpenAPI document, and its own at /openapi.json.
      documents: Object.fromEntries(
        serviceNames.map((service) => [
          service,
          service === 'gateway' ? `${origin}/openapi.json` : `${origin}/openapi/${service}.json`,
        ]),
      ),
    });
  });
  // A route rather than a middleware, so that the storefront's files are counted under one route pattern.
  router.get('/{*file}', express.static(staticDir, { index: 'index.html', maxAge: 0 }));
  return router;
}

export const storefrontBuilt = async () => {
  if (!existsSync(`${staticDir}index.html`)) throw new Error('the storefront is not built (npm run build)');
};
