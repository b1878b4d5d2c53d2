import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Batch, readable, relay } from '../../src/local/log.js';

/** What `npm start` shows for the services' log lines. */
const requestLine = JSON.stringify({
  level: 'info',
  time: '2026-01-01T10:00:00.000Z',
  service: 'book-api',
  instance: 'pi-1:8081',
  method: 'POST',
  route: '/api/books',
  path: '/api/books',
  status: 201,
  durationMs: 3.25,
  requestId: '0f9c',
  msg: 'request',
});
const errorLine = JSON.stringify({
  level: 'error',
  time: '2026-01-01T10:00:00.000Z',
  service: 'book-api',
  instance: 'pi-1:8081',
  err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at handler (routes.js:1:1)' },
  msg: 'unexpected error',
});

describe('a log line in the terminal', () => {
  it('a request: method, path, status and milliseconds, nothing else', () => {
    expect(readable(requestLine, false)).toBe('POST /api/books 201 3.25 ms');
  });

  it('a request in colour: the status coloured by its class', () => {
    expect(readable(requestLine, true)).toBe('POST /api/books \x1b[32m201\x1b[0m 3.25 ms');
    const failed = readable(requestLine.replace('"status":201', '"status":503'), true);
    expect(failed).toContain('\x1b[31m503\x1b[0m');
  });

  it('another line: level, message and its own fields, without what every line has', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-01-01T10:00:00.000Z',
      service: 'book-api',
      instance: 'pi-1:8081',
      dependency: 'number-api',
      reason: 'connect ECONNREFUSED 127.0.0.1:2379',
      instances: 2,
      msg: 'etcd unreachable: keeping the last known instances',
    });
    expect(readable(line, false)).toBe(
      'warn  etcd unreachable: keeping the last known instances dependency=number-api ' +
        'reason="connect ECONNREFUSED 127.0.0.1:2379" instances=2',
    );
    expect(readable(line, true).startsWith('\x1b[33mwarn \x1b[0m etcd unreachable')).toBe(true);
  });

  it('an error: its message on the line, its stack indented below', () => {
    expect(readable(errorLine, false)).toBe(
      'error unexpected error err=boom\n    Error: boom\n        at handler (routes.js:1:1)',
    );
    expect(readable(errorLine, true).startsWith('\x1b[31merror\x1b[0m unexpected error')).toBe(true);
  });

  it('a line that is not JSON, or not a JSON object, unchanged', () => {
    for (const line of ['Error: Cannot find module', '{ not json', '  at x (y.js:1:1)', '', '{"a":1'])
      expect(readable(line, false)).toBe(line);
    expect(readable('plain text', true)).toBe('plain text');
  });
});

describe('relaying a service output', () => {
  it('puts the label before every line, lines split across chunks included, in one write per batch', async () => {
    const source = new PassThrough();
    const written: string[] = [];
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => written.push(String(chunk)));
    relay(source, 'book-api | ', new Batch(out), false);
    source.write(`${requestLine}\nnot js`);
    source.write('on\n');
    source.end(errorLine);
    await new Promise((r) => source.once('end', r));
    await new Promise((r) => setImmediate(r));
    expect(written.join('')).toBe(
      [
        'book-api | POST /api/books 201 3.25 ms',
        'book-api | not json',
        'book-api | error unexpected error err=boom',
        'book-api |     Error: boom',
        'book-api |         at handler (routes.js:1:1)',
        '',
      ].join('\n'),
    );
    expect(written.length).toBeLessThan(3);
  });
});
