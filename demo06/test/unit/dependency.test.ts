import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dependency, DependencyUnavailable } from '../../src/lib/dependency.js';
import { createLogger } from '../../src/lib/log.js';
import type { ServiceView } from '../../src/lib/registry.js';

/** A real HTTP server that answers each path its own way, and counts the connections made to it. */
let server: Server;
let baseUrl: string;
let connections = 0;
const seen: { path: string; contentType?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', contentType: req.headers['content-type'], body });
      const json = (status: number, value: unknown) =>
        res
          .writeHead(status, { 'content-type': 'application/json', 'x-served-by': 'echo/one' })
          .end(JSON.stringify(value));
      switch (req.url) {
        case '/ok':
          return json(200, { echoed: body ? JSON.parse(body) : null });
        case '/missing':
          return json(404, { detail: 'no such thing' });
        case '/broken':
          return json(500, { detail: 'oops' });
        case '/slow':
          return setTimeout(() => json(200, {}), 500);
        case '/reset':
          return req.socket.destroy();
        case '/stalls':
          res.writeHead(200, { 'content-type': 'application/json' }).write('{"partial":');
          return;
        case '/breaks-off':
          res.writeHead(200, { 'content-type': 'application/json' }).write('{"partial":');
          return setTimeout(() => req.socket.destroy(), 20);
        case '/html':
          return res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>');
      }
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A dependency whose one instance listens at `url`. */
const dependencyAt = (service: string, url: string, timeoutMs: number) => {
  const instance = { service, instanceId: 'one', url, pid: 1, startedAt: '', version: 'test' };
  const view = { service, instances: [instance], log: createLogger({}, 'error') };
  return new Dependency(view as unknown as ServiceView, timeoutMs);
};
const echo = () => dependencyAt('echo-api', baseUrl, 200);

/** The error a call fails with. */
async function failure(promise: Promise<unknown>): Promise<DependencyUnavailable> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DependencyUnavailable);
  return err as DependencyUnavailable;
}

describe('a call to a dependency', () => {
  it('returns the answer, its status and which instance gave it; a body is sent as JSON', async () => {
    const reply = await echo().call('POST', '/ok', { body: { title: 'Dune' } });
    expect(reply).toEqual({ status: 200, body: { echoed: { title: 'Dune' } }, servedBy: 'echo/one' });
    expect(seen.at(-1)?.contentType).toBe('application/json');
  });

  it('returns a 4xx answer to the caller as it is', async () => {
    const reply = await echo().call('GET', '/missing');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ detail: 'no such thing' });
  });

  it('turns a 5xx answer into a 503 naming the dependency; the request did arrive', async () => {
    const err = await failure(echo().call('GET', '/broken'));
    expect(err.status).toBe(503);
    expect(err.message).toBe('echo-api answered 500');
    expect(err.mayHaveArrived).toBe(true);
  });

  it('gives up after its timeout: a 503 whose outcome is unknown', async () => {
    const err = await failure(echo().call('GET', '/slow'));
    expect(err.message).toBe('echo-api did not answer within 200 ms');
    expect(err.mayHaveArrived).toBe(true);
  });

  it('a connection lost after sending is a 503 whose outcome is unknown', async () => {
    const err = await failure(echo().call('POST', '/reset', { body: {} }));
    expect(err.message).toContain('echo-api');
    expect(err.mayHaveArrived).toBe(true);
  });

  it('an answer that stops half-way is a 503 too, when it times out or breaks off', async () => {
    const stalled = await failure(echo().call('GET', '/stalls'));
    expect(stalled.message).toBe('echo-api did not answer within 200 ms');
    const broken = await failure(echo().call('GET', '/breaks-off'));
    expect(broken.message).toBe('echo-api lost the connection before answering');
    expect(broken.mayHaveArrived).toBe(true);
  });

  it('a refused connection is a 503 that provably never arrived', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(dependencyAt('gone-api', `http://127.0.0.1:${port}`, 200).call('GET', '/'));
    expect(err.message).toBe('gone-api is unreachable');
    expect(err.mayHaveArrived).toBe(false);
  });

  it('an answer that is not JSON is a 503', async () => {
    const err = await failure(echo().call('GET', '/html'));
    expect(err.message).toBe('echo-api answered with a body that is not JSON');
  });

  it('serialises as a problem with the dependency, and without mayHaveArrived', async () => {
    const err = await failure(echo().call('GET', '/broken'));
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'echo-api answered 500',
      dependency: 'echo-api',
    });
  });

  it('keeps connections open and reuses them', async () => {
    const dependency = echo();
    await Promise.all(Array.from({ length: 5 }, () => dependency.call('GET', '/ok')));
    const before = connections;
    for (let i = 0; i < 20; i++) await dependency.call('GET', '/ok');
    await Promise.all(Array.from({ length: 5 }, () => dependency.call('GET', '/ok')));
    expect(connections).toBe(before);
  });
});
