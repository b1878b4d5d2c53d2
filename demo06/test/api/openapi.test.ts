import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceName, serviceNames } from '../../src/lib/config.js';
import { openapiDocument } from '../../src/openapi.js';
import { request } from '../support/http.js';
import { checkResponse, type Observed, problemsWith } from '../support/openapi.js';
import { freePort, type Spawned, spawnCompiled, waitFor } from '../support/processes.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
/** The storefront as it runs: compiled, serving dist/web. */
let web: Spawned;
let webUrl: string;
beforeAll(async () => {
  stage = await startStage();
  const port = await freePort();
  // Where the stage has a registry, the storefront registers in the test's own.
  const etcd = (stage as { etcd?: { env: string } }).etcd;
  web = spawnCompiled('dist/services/web/main.js', {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    ...(etcd && { ETCD_ENDPOINTS: etcd.env, ADVERTISE_HOST: '127.0.0.1' }),
  });
  webUrl = `http://127.0.0.1:${port}`;
  await waitFor('web to be live', () => isLive(webUrl), 15_000, web.output);
});
afterAll(async () => {
  await stage.stop();
  web.child.kill('SIGTERM');
  await web.exited;
});

const isLive = (url: string) =>
  fetch(`${url}/health/live`).then(
    (r) => r.ok,
    () => false,
  );

const urlOf = (service: ServiceName) => (service === 'web' ? webUrl : stage.url[service]);

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };

/** Every route an app answers, as `METHOD /path/{param}`, from its routers. */
function routesOf(app: Express): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map(
            (method) => `${method.toUpperCase()} ${layer.route?.path.replace(/:(\w+)/g, '{$1}')}`,
          )
        : walk(layer.handle?.stack ?? []),
    );
  // The gateway's forwarding (every method of /api/** and of the storefront's paths) is described in words.
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
    .filter((route) => !route.startsWith('_ALL '))
    .sort();
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Every operation a document lists, as `METHOD /path/{param}`. */
function operationsOf(document: Record<string, any>): string[] {
  return Object.entries<Record<string, unknown>>(document.paths)
    .flatMap(([path, item]) => methods.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe.each(serviceNames)('%s', (service) => {
  it('serves its OpenAPI document at /openapi.json, as generated from its schemas', async () => {
    const response = await request('GET', `${urlOf(service)}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual(JSON.parse(JSON.stringify(await openapiDocument(service))));
    expect(response.body.info.title).toBe(service);
  });

  // The storefront runs as a process here; its routes besides its files are the ones every service has.
  it.skipIf(service === 'web')('lists every route it has, and only those', async () => {
    const app = stage.running[service as Exclude<ServiceName, 'web'>].server.listeners(
      'request',
    )[0] as Express;
    expect(operationsOf(await openapiDocument(service))).toEqual(routesOf(app));
  });
});

describe('web', () => {
  it.each([
    '/',
    '/index.html',
    '/api.html',
    '/api-page.js',
    '/main.js',
    '/styles.css',
    '/favicon.svg',
    '/vendor/swagger-ui/swagger-ui-bundle.js',
    '/vendor/swagger-ui/swagger-ui.css',
    '/vendor/swagger-ui/LICENSE.txt',
  ])('serves %s as its document describes it', async (path) => {
    const response = await fetch(`${webUrl}${path}`);
    const observed = {
      method: 'GET',
      url: response.url,
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    };
    expect(observed.status).toBe(200);
    await expect(checkResponse(observed)).resolves.toBeUndefined();
  });

  it("tells the API page where every service's document is", async () => {
    const { body } = await request('GET', `${webUrl}/config.json`);
    expect(Object.keys(body.documents).sort()).toEqual([...serviceNames].sort());
    // On the origin the page came from: the gateway, which serves each document.
    for (const [service, url] of Object.entries<string>(body.documents))
      expect(url).toBe(
        service === 'gateway' ? `${webUrl}/openapi.json` : `${webUrl}/openapi/${service}.json`,
      );
    expect(body.auth).toEqual({ token: `${webUrl}/auth/token` });
  });

  it('answers 404 for a file it does not have', async () => {
    expect((await request('GET', `${webUrl}/nothing.js`)).status).toBe(404);
  });
});

describe('the check of every answer against its document', () => {
  const observed = (overrides: Partial<Observed> & { headers?: Record<string, string> }): Observed => ({
    method: 'GET',
    url: 'http://127.0.0.1:1/api/books/1',
    status: 200,
    text: JSON.stringify({ id: 1, isbn: '9780000000017', title: 'T', author: 'A', year: 2000, price: 1 }),
    ...overrides,
    headers: new Headers({
      'x-served-by': 'book-api/test:1',
      'x-request-id': 'r-1',
      'content-type': 'application/json; charset=utf-8',
      ...overrides.headers,
    }),
  });

  it('passes an answer the document describes', async () => {
    expect(await problemsWith(observed({}))).toEqual([]);
  });

  it.each<[string, Partial<Observed> & { headers?: Record<string, string> }, RegExp]>([
    ['a status the operation does not list', { status: 409 }, /lists no 409/],
    ['a body that does not fit', { text: '{"id": 1}' }, /body .*required property/],
    ['an unknown field', { text: observed({}).text.replace('"id":1', '"id":1,"color":"red"') }, /additional/],
    ['another content type', { headers: { 'content-type': 'text/html' } }, /content type "text\/html"/],
    ['a required header missing', { headers: { 'x-request-id': '' } }, /X-Request-Id/i],
    [
      'a contract header the answer does not list',
      { headers: { link: '</api/books?after=1>; rel="next"' } },
      /link is not listed/,
    ],
    ['a service that is not of the stage', { headers: { 'x-served-by': 'someone/else' } }, /X-Served-By/],
    [
      'a route the document lacks, with another status than 404',
      { url: 'http://127.0.0.1:1/api/nope' },
      /x-unknown-route/,
    ],
  ])('refuses %s', async (_, overrides, problem) => {
    const problems = await problemsWith(observed(overrides));
    expect(problems.join('\n')).toMatch(problem);
  });

  it('passes the 404 of an unknown route', async () => {
    const notFound = observed({
      url: 'http://127.0.0.1:1/api/nope',
      status: 404,
      text: JSON.stringify({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'no route for GET /api/nope',
      }),
      headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    });
    expect(await problemsWith(notFound)).toEqual([]);
  });
});
