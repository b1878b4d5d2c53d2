import { type ServiceName, serviceNames } from '../../lib/config.js';
import type { Role } from './tokens.js';

/**
 * Who may do what, in one table: where each request goes and the role it needs. Requests the table does not
 * route (number-api, inventory reservations, anything unknown) are internal and answer 404 from the gateway,
 * as if they did not exist: a service's internal operations are not part of the public API.
 */

/** `anyone`: no token needed; otherwise a valid token with that role. */
export type Need = 'anyone' | Role;

export interface Route {
  service: ServiceName;
  /** The path on the service (the same as the request's, except for the documents). */
  path: string;
  need: Need;
}

const catalogs: Record<string, ServiceName> = { books: 'book-api', cds: 'cd-api', dvds: 'dvd-api' };
const reads = new Set(['GET', 'HEAD']);

/** The route of a request, or undefined when it is not routed. `path` has no query string. */
export function routeOf(method: string, path: string): Route | undefined {
  const read = reads.has(method);
  // Decided as the services' routers match: without regard to case or a trailing slash.
  const segments = path.toLowerCase().replace(/\/+$/, '').split('/').slice(1);
  if (segments[0] !== 'api') {
    if (!read) return undefined;
    // The web service's own operations (the registry's instances, its metrics: for Prometheus) are internal.
    if (segments[0] === 'registry' || segments[0] === 'metrics') return undefined;
    // Each service's OpenAPI document, for the storefront's API page: /openapi/<service>.json.
    const document = /^\/openapi\/([a-z-]+)\.json$/.exec(path)?.[1];
    if (document !== undefined)
      // Every service's but the gateway's own, which it serves itself at /openapi.json.
      return serviceNames.includes(document as ServiceName) && document !== 'gateway'
        ? { service: document as ServiceName, path: '/openapi.json', need: 'anyone' }
        : undefined;
    return { service: 'web', path, need: 'anyone' };
  }
  const [, collection, ...rest] = segments;
  const catalog = catalogs[collection ?? ''];
  if (catalog !== undefined) return { service: catalog, path, need: read ? 'anyone' : 'admin' };
  if (collection === 'inventory') {
    if (rest[0] === 'reservations') return undefined;
    return { service: 'inventory-api', path, need: read ? 'anyone' : 'admin' };
  }
  if (collection === 'carts') return { service: 'shoppingcart-api', path, need: 'customer' };
  return undefined;
}

/**
 * A path the gateway refuses to forward: `..` or `.` segments, empty segments (`//`), and encoded slashes,
 * backslashes or dots, which a service behind might decode into a path the table never saw.
 */
export function unsafePath(rawPath: string): string | undefined {
  if (/%(2f|5c|2e)/i.test(rawPath)) return 'an encoded slash, backslash or dot';
  if (rawPath.includes('\\')) return 'a backslash';
  if (rawPath.includes('//')) return 'an empty segment (//)';
  if (rawPath.split('/').some((segment) => segment === '..' || segment === '.')) return 'a . or .. segment';
  return undefined;
}
