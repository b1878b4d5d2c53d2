import type { ServiceName } from './lib/config.js';
import { catalogDocument } from './catalog/openapi.js';
import type { OpenApiDocument } from './lib/openapi.js';
import { books } from './services/book-api/definition.js';
import { cds } from './services/cd-api/definition.js';
import { dvds } from './services/dvd-api/definition.js';
import { inventoryDocument } from './services/inventory-api/openapi.js';
import { numberDocument } from './services/number-api/openapi.js';
import { shoppingcartDocument } from './services/shoppingcart-api/openapi.js';
import { webDocument } from './services/web/openapi.js';

/** How each service's OpenAPI document is made: from the zod schemas it validates with. */
const documents: Record<ServiceName, () => OpenApiDocument> = {
  web: webDocument,
  'book-api': () => catalogDocument(books),
  'cd-api': () => catalogDocument(cds),
  'dvd-api': () => catalogDocument(dvds),
  'number-api': numberDocument,
  'inventory-api': inventoryDocument,
  'shoppingcart-api': shoppingcartDocument,
};

const made = new Map<ServiceName, OpenApiDocument>();

/** A service's OpenAPI document, made once per process, when first asked for. */
export function openapiDocument(service: ServiceName): OpenApiDocument {
  let document = made.get(service);
  if (document === undefined) {
    document = documents[service]();
    made.set(service, document);
  }
  return document;
}
