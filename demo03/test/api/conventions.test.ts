import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const services = [
  'number-api',
  'book-api',
  'cd-api',
  'dvd-api',
  'inventory-api',
  'shoppingcart-api',
] as const;
/** A route of each service that takes a JSON body. */
const bodyRoutes: Record<(typeof services)[number], string> = {
  'number-api': '/api/numbers/isbn',
  'book-api': '/api/books',
  'cd-api': '/api/cds',
  'dvd-api': '/api/dvds',
  'inventory-api': '/api/inventory/book/1',
  'shoppingcart-api': '/api/carts/1/items',
};

describe.each(services)('%s follows the contract conventions', (service) => {
  const url = (path: string) => `${stage.url[service]}${path}`;

  it('is live and ready, and says which instance answered', async () => {
    const live = await request('GET', url('/health/live'));
    const ready = await request('GET', url('/health/ready'));
    expect(live.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('up');
    // <host>:<port>, or <host>-pid<pid> for an instance on PORT=0 (its port is chosen at listen).
    expect(live.headers.get('x-served-by')).toMatch(new RegExp(`^${service}/.+(:\\d+|-pid\\d+)$`));
  });

  it('answers an unknown route with a JSON 404, never HTML', async () => {
    const response = await request('GET', url('/api/nothing-here'));
    expect(isProblem(response, 404)).toBe(true);
    expect(response.body.detail).toContain('/api/nothing-here');
    expect(response.headers.get('x-served-by')).toContain(service);
  });

  it('refuses malformed JSON (400), another content type (415) and a body over 64 KiB (413)', async () => {
    const method = service === 'inventory-api' ? 'PUT' : 'POST';
    const malformed = await request(method, url(bodyRoutes[service]), {
      body: '{"title": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(isProblem(malformed, 400)).toBe(true);
    const wrongType = await request(method, url(bodyRoutes[service]), {
      body: 'title=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(isProblem(wrongType, 415)).toBe(true);
    const huge = await request(method, url(bodyRoutes[service]), { json: { title: 'x'.repeat(70 * 1024) } });
    expect(isProblem(huge, 413)).toBe(true);
  });

  it('lets the storefront call it from another origin (CORS)', async () => {
    const response = await fetch(url(bodyRoutes[service]), {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8080', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain('Idempotency-Key');
  });
});
