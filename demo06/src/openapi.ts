import type { ServiceName } from './lib/config.js';
import type { OpenApiDocument } from './lib/openapi.js';

/**
 * How each service's OpenAPI document is made, from the zod schemas it validates with. Each is imported only
 * when asked for: a service that is never asked for its document loads none of this.
 */
const documents: Record<ServiceName, () => Promise<OpenApiDocument>> = {
  web: async () => (await import('./services/web/openapi.js')).webDocument(),
  'book-api': async () =>
    (await import('./catalog/openapi.js')).catalogDocument(
      (await import('./services/book-api/definition.js')).books,
    ),
  'cd-api': async () =>
    (await import('./catalog/openapi.js')).catalogDocument(
      (await import('./services/cd-api/definition.js')).cds,
    ),
  'dvd-api': async () =>
    (await import('./catalog/openapi.js')).catalogDocument(
      (await import('./services/dvd-api/definition.js')).dvds,
    ),
  'number-api': async () => (await import('./services/number-api/openapi.js')).numberDocument(),
  'inventory-api': async () => (await import('./services/inventory-api/openapi.js')).inventoryDocument(),
  'shoppingcart-api': async () =>
    (await import('./services/shoppingcart-api/openapi.js')).shoppingcartDocument(),
  gateway: async () => (await import('./services/gateway/openapi.js')).gatewayDocument(),
};

const made = new Map<ServiceName, Promise<OpenApiDocument>>();

/** A service's OpenAPI document, made once per process, when first asked for. */
export function openapiDocument(service: ServiceName): Promise<OpenApiDocument> {
  let document = made.get(service);
  if (document === undefined) {
    document = documents[service]();
    made.set(service, document);
  }
  return document;
}
