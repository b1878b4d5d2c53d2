import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, requestLog } from '../../src/lib/log.js';
import { request } from '../support/http.js';

/** The lines a logger writes, parsed. */
function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    destination,
  };
}

const secret = 'do-not-log-me';

describe('the logger', () => {
  it('writes one JSON object per line with its level, time, service, instance and message', () => {
    const out = capture();
    const log = createLogger({ service: 'book-api', instance: 'host:8081' }, 'info', out.destination);
    log.info({ port: 8081 }, 'listening');
    log.debug('not at this level');
    expect(out.entries()).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        service: 'book-api',
        instance: 'host:8081',
        port: 8081,
        msg: 'listening',
      },
    ]);
  });

  it('never writes a credential header, a password or a token, up to three levels down', () => {
    const out = capture();
    const log = createLogger({ service: 'book-api' }, 'debug', out.destination);
    const fields = {
      password: secret,
      Token: secret,
      'x-api-key': secret,
      headers: { authorization: `Bearer ${secret}`, cookie: secret, 'set-cookie': [secret] },
      req: { headers: { Authorization: secret }, users: [{ password: secret }] },
      a: { b: { c: { token: secret } } },
      kept: 'visible',
      when: new Date(0),
    };
    log.info(fields, 'a careless log call');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).not.toContain(secret);
    expect(out.entries()[0]).toMatchObject({
      password: '[redacted]',
      headers: { authorization: '[redacted]', 'set-cookie': '[redacted]' },
      req: { users: [{ password: '[redacted]' }] },
      kept: 'visible',
      when: '1970-01-01T00:00:00.000Z',
    });
    // The caller's own object is left as it was.
    expect(fields.headers.authorization).toBe(`Bearer ${secret}`);
  });

  it('logs an error with its message and stack', () => {
    const out = capture();
    createLogger({}, 'info', out.destination).error({ err: new Error('boom') }, 'unexpected error');
    expect(out.entries()[0]).toMatchObject({
      level: 'error',
      msg: 'unexpected error',
      err: { type: 'Error', message: 'boom', stack: expect.stringContaining('Error: boom') },
    });
  });
});

describe('one log line per request', () => {
  const out = capture();
  let url = '';
  let close = () => {};
  beforeAll(async () => {
    const app = express();
    app.use(requestLog(createLogger({ service: 'test-api', instance: 'i1' }, 'info', out.destination)));
    app.use(express.json());
    const things = express.Router();
    things.get('/api/things/:id', (req, res) => void res.json({ id: req.params.id }));
    things.post('/api/things', (_req, res) => void res.status(201).json({}));
    app.use(things);
    app.get('/health/live', (_req, res) => void res.json({ status: 'up' }));
    app.use((_req, res) => void res.status(404).json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    close = () => server.close();
  });
  afterAll(() => close());

  const lineFor = async (requestId: string) => {
    // The line is written when the response has finished: wait for it rather than for a time.
    for (let i = 0; i < 100 && !out.lines.some((l) => l.includes(requestId)); i++)
      await new Promise((r) => setTimeout(r, 10));
    const line = out.lines.find((l) => l.includes(requestId));
    return { line: line ?? '', entry: JSON.parse(line ?? '{}') as Record<string, unknown> };
  };

  it('names the method, the matched route, the path, the status, the duration, the request id and the instance', async () => {
    const response = await request('GET', `${url}/api/things/42?fields=all`, {
      headers: { 'x-request-id': 'req-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req-1');
    const { entry } = await lineFor('req-1');
    expect(entry).toEqual({
      level: 'info',
      time: expect.any(String),
      service: 'test-api',
      instance: 'i1',
      method: 'GET',
      route: '/api/things/:id',
      path: '/api/things/42?fields=all',
      status: 200,
      durationMs: expect.any(Number),
      requestId: 'req-1',
      msg: 'request',
    });
  });

  it('gives an unknown route its path, and a request without an id a fresh one', async () => {
    const response = await request('GET', `${url}/nowhere?x=1`);
    expect(response.status).toBe(404);
    const requestId = response.headers.get('x-request-id') ?? '';
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await lineFor(requestId)).entry).toMatchObject({ route: '/nowhere', status: 404 });
  });

  it('never logs the body or a header, credentials included', async () => {
    const response = await request('POST', `${url}/api/things`, {
      headers: { authorization: `Bearer ${secret}`, cookie: `session=${secret}`, 'x-request-id': 'req-2' },
      json: { password: secret, name: secret },
    });
    expect(response.status).toBe(201);
    const { line } = await lineFor('req-2');
    expect(line).toContain('"route":"/api/things"');
    expect(line).not.toContain(secret);
  });

  it('logs health probes at debug level only', async () => {
    await request('GET', `${url}/health/live`, { headers: { 'x-request-id': 'probe-1' } });
    await request('GET', `${url}/api/things/7`, { headers: { 'x-request-id': 'after-probe' } });
    await lineFor('after-probe');
    expect(out.lines.some((l) => l.includes('probe-1'))).toBe(false);
  });
});
