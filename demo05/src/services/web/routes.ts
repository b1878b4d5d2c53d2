import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { defaultPorts, type ServiceName, serviceNames } from '../../lib/config.js';
import { stage } from '../../lib/stage.js';

/** The storefront's static files, compiled next to the services (dist/web). */
export const staticDir = fileURLToPath(new URL('../../web/', import.meta.url));

const apis: Record<string, ServiceName> = {
  book: 'book-api',
  cd: 'cd-api',
  dvd: 'dvd-api',
  inventory: 'inventory-api',
  cart: 'shoppingcart-api',
};

export function storefrontRoutes(): Router {
  const router = Router();
  // The browser calls each API on its published port of the host it loaded the page from, so one build works
  // on localhost, in compose and on the Pis. Every API is its own origin.
  router.get('/config.json', (req, res) => {
    const base = `${req.protocol}://${req.hostname}`;
    res.json({
      stage,
      apis: Object.fromEntries(
        Object.entries(apis).map(([name, service]) => [name, `${base}:${defaultPorts[service]}`]),
      ),
      // For the API page: where each service serves its OpenAPI document.
      documents: Object.fromEntries(
        serviceNames.map((service) => [service, `${base}:${defaultPorts[service]}/openapi.json`]),
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
