import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd } from '../../src/lib/etcd.js';
import { type Instance, servicesPrefix } from '../../src/lib/registry.js';
import { waitFor } from '../support/processes.js';
import { startStage, type TestStage } from '../support/stage.js';
import { refusedByGateway, through, tokenOf } from './support.js';

/**
 * The gateway's forwarding, against an upstream that shows what it received: registered in the stage's etcd as
 * book-api, so the gateway finds it as it finds any service. Bodies stream both ways, a slow upstream is a 504,
 * a client that leaves takes the upstream call with it, and the headers that belong to one connection (or to
 * the gateway) do not cross it.
 */

let upstream: Server;
let stage: TestStage;
let gateway: string;
let admin: string;
/** What the upstream saw of the last /api/books/echo request, and of the held ones. */
let seen: { headers: IncomingHttpHeaders; url: string } | undefined;
let held = 0;
let heldClosed = 0;
const bigBytes = 8 * 1024 * 1024;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('X-Served-By', 'book-api/echo');
    if (req.url?.startsWith('/api/books/echo')) {
      seen = { headers: req.headers, url: req.url };
      res.setHeader('Connection', 'close, x-private');
      res.setHeader('X-Private', 'hop-by-hop, named by Connection');
      res.setHeader('Keep-Alive', 'timeout=42');
      res.setHeader('Content-Type', 'application/json');
      res.end('{"echo":true}');
    } else if (req.url === '/api/books' && req.method === 'POST') {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ bytes }));
      });
    } else if (req.url === '/api/books/big') {
      res.setHeader('Content-Type', 'application/octet-stream');
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const more = () => {
        while (sent < bigBytes) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    } else if (req.url === '/api/books/slow') {
      setTimeout(() => res.end('{}'), 8000).unref();
    } else if (req.url === '/api/books/hold') {
      held++;
      res.once('close', () => heldClosed++);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  stage = await startStage({ 'book-api': `http://127.0.0.1:${port}` }, { UPSTREAM_TIMEOUT_MS: '4000' });
  gateway = stage.url.gateway;
  admin = await tokenOf(gateway, 'admin');
}, 60_000);
/** Where the gateway serves its /metrics: a port of its own, not the public one. */
const metricsOf = (s: TestStage) => `http://127.0.0.1:${s.running.gateway.metricsPort}`;

afterAll(async () => {
  await stage?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
});

describe("the gateway's metrics", () => {
  it('are on its metrics port, which it registers for Prometheus; its public port has no /metrics', async () => {
    expect(refusedByGateway(await through(gateway, 'GET', '/metrics'), 404)).toBe(true);
    const metrics = await fetch(`${metricsOf(stage)}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^http_server_request_duration_seconds_count\{.*\} \d+$/m);
    const { kvs } = await new Etcd(stage.etcd.env.split(',')).list(`${servicesPrefix}gateway/`);
    const registered = kvs.map((kv) => JSON.parse(kv.value) as Instance);
    expect(registered.map((i) => [i.url, i.metricsUrl])).toEqual([[gateway, metricsOf(stage)]]);
  });
});

describe('the gateway forwards', () => {
  it('sets X-Forwarded-For/-Proto/-Host, says who the user is, and keeps the token to itself', async () => {
    const answer = await through(gateway, 'GET', '/api/books/echo?x=1', {
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-user-sub': 'mallory', 'x-request-id': 'req-42' },
    });
    expect(answer.status).toBe(200);
    expect(seen?.url).toBe('/api/books/echo?x=1');
    expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers['x-forwarded-host']).toBe(new URL(gateway).host);
    expect(seen?.headers['x-user-sub']).toBeUndefined(); // anonymous read: nobody, whatever the client said
    expect(seen?.headers['x-request-id']).toBe('req-42');
    expect(answer.headers.get('x-request-id')).toBe('req-42');
    expect(answer.headers.get('x-served-by')).toMatch(/^gateway\//);
    expect(answer.headers.get('x-upstream-served-by')).toBe('book-api/echo');

    await through(gateway, 'PUT', '/api/books/echo', { token: admin, json: {} });
    expect(seen?.headers['x-user-sub']).toBe('admin');
    expect(seen?.headers['x-user-role']).toBe('admin');
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('strips hop-by-hop headers both ways, and those the Connection header names', async () => {
    // node:http, since fetch will not send a Connection header of the caller's.
    const { port } = new URL(gateway);
    const answer = await new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/books/echo',
          headers: { connection: 'keep-alive, x-secret', 'x-secret': 'for the gateway only', te: 'trailers' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(seen?.headers['x-secret']).toBeUndefined();
    expect(seen?.headers.te).toBeUndefined();
    expect(answer.headers['x-private']).toBeUndefined();
    expect(answer.headers['keep-alive']).not.toBe('timeout=42');
    expect(JSON.parse(answer.body)).toEqual({ echo: true });
  });

  it('streams a large answer through (8 MiB) and a large request body (4 MiB) to the service', async () => {
    const big = await fetch(`${gateway}/api/books/big`);
    expect(big.status).toBe(200);
    expect((await big.arrayBuffer()).byteLength).toBe(bigBytes);
    const sent = Buffer.alloc(4 * 1024 * 1024, 1);
    const posted = await fetch(`${gateway}/api/books`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: sent,
    });
    expect(await posted.json()).toEqual({ bytes: sent.length });
  });

  it('answers 504 naming the service when it is too slow', async () => {
    const answer = await through(gateway, 'GET', '/api/books/slow');
    expect(refusedByGateway(answer, 504), JSON.stringify(answer.body)).toBe(true);
    expect(answer.body.detail).toMatch(/^book-api did not answer within \d+ ms$/);
  });

  it('aborts the call to the service when the client goes away', async () => {
    const before = heldClosed;
    const leaving = new AbortController();
    const pending = fetch(`${gateway}/api/books/hold`, { signal: leaving.signal }).catch(() => 'gone');
    await waitFor('the upstream to hold the request', async () => held > 0, 2000);
    leaving.abort();
    expect(await pending).toBe('gone');
    await waitFor('the upstream request to be closed', async () => heldClosed === before + 1, 5000);
    // Closed because the client left, not because the gateway's timeout came: its metrics say which.
    const metrics = await (await fetch(`${metricsOf(stage)}/metrics`)).text();
    expect(metrics).toMatch(
      /http_client_request_duration_seconds_count\{[^}]*peer_service="book-api"[^}]*outcome="client-gone"[^}]*\} 1/,
    );
  });

  it('refuses a body on a GET, which would reach the service unframed, as a second request', async () => {
    const { port } = new URL(gateway);
    const smuggled =
      'PUT /api/inventory/book/1 HTTP/1.1\r\nX-User-Role: admin\r\nContent-Length: 15\r\n\r\n{"quantity":0}';
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET /api/books/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
            `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
        );
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('a GET request carries no body here');
  });
});

describe('the gateway refuses', () => {
  it('a Host that is not a host name and port, which the services would build URLs from', async () => {
    const { port } = new URL(gateway);
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: Number(port), path: '/api/books/echo', headers: { host } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    seen = undefined;
    expect(await ask('shop.example/"><script>alert(1)</script>')).toBe(400);
    expect(await ask('shop.example:9000:9000')).toBe(400);
    expect(seen, 'the service was not called').toBeUndefined();
    for (const host of ['shop.example:9000', 'pi1', '192.168.1.10:9000', '[::1]:9000']) {
      expect(await ask(host), host).toBe(200);
      expect(seen?.headers['x-forwarded-host']).toBe(host);
    }
  });
});

describe('when no instance can answer', () => {
  it('a service whose instances refuse every connection is a 503 naming it', async () => {
    await stage.running['dvd-api'].stop(); // still registered, no longer listening
    const answer = await through(gateway, 'GET', '/api/dvds');
    expect(refusedByGateway(answer, 503), JSON.stringify(answer.body)).toBe(true);
    expect(answer.body.detail).toBe('dvd-api is unreachable');
  });
});
