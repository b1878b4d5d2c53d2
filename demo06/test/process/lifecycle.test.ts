import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DelayProxy } from '../support/delay-proxy.js';
import { EtcdCluster, registeredInstances } from '../support/etcd.js';
import { request } from '../support/http.js';
import { freePort, isReady, spawnCompiled, waitFor } from '../support/processes.js';

describe('a service process', () => {
  it('on SIGTERM deregisters, stops accepting, finishes the request in flight, and exits 0', async () => {
    const etcd = await EtcdCluster.start();
    const registry = { ETCD_ENDPOINTS: etcd.env, ADVERTISE_HOST: '127.0.0.1' };
    // number-api behind a slow proxy: only the proxy is registered (number-api itself is given an etcd that is
    // not there), so the proxy is the one instance book-api can call.
    const numberPort = await freePort();
    const slowNumbers = new DelayProxy();
    slowNumbers.target = `http://127.0.0.1:${numberPort}`;
    const proxyUrl = await slowNumbers.start();
    await fetch(`${etcd.env}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({
        key: Buffer.from('/pie/services/number-api/proxy').toString('base64'),
        value: Buffer.from(JSON.stringify({ instanceId: 'proxy', url: proxyUrl })).toString('base64'),
      }),
    });
    const number = spawnCompiled('dist/services/number-api/main.js', {
      PORT: String(numberPort),
      ETCD_ENDPOINTS: `http://127.0.0.1:${await freePort()}`,
    });
    const bookPort = await freePort();
    const book = spawnCompiled('dist/services/book-api/main.js', { PORT: String(bookPort), ...registry });
    const bookUrl = `http://127.0.0.1:${bookPort}`;
    try {
      await waitFor('book-api ready', () => isReady(bookUrl));
      slowNumbers.delayMs = 700;
      const inFlight = request('POST', `${bookUrl}/api/books`, {
        json: { title: 'In flight', author: 'A', year: 2000, price: 1 },
      });
      await waitFor('the create to reach number-api', () =>
        slowNumbers.seen.some((s) => s.includes('/isbn')),
      );
      book.child.kill('SIGTERM');
      await waitFor(
        'book-api to leave the registry',
        async () => (await registeredInstances(etcd.env, 'book-api')).length === 0,
      );
      const created = await inFlight;
      expect(created.status).toBe(201);
      expect(await book.exited).toBe(0);
      await expect(fetch(`${bookUrl}/health/live`)).rejects.toThrow();
      expect(book.output()).toContain('"msg":"stopped"');
      // Every request was logged as one JSON line.
      const requestLines = book
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line));
      expect(requestLines).toContainEqual(
        expect.objectContaining({ service: 'book-api', method: 'POST', path: '/api/books', status: 201 }),
      );
    } finally {
      book.killAll();
      number.killAll();
      await slowNumbers.stop();
      await etcd.stop();
    }
  });

  it('on a busy port says which service and port, and exits 1 without a stack trace', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const number = spawnCompiled('dist/services/number-api/main.js', {
        PORT: String(port),
        HOST: '127.0.0.1',
      });
      expect(await number.exited).toBe(1);
      expect(number.output()).toContain(
        `number-api cannot listen on port ${port}: the port is already in use`,
      );
      expect(number.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('refuses an invalid configuration with one sentence and exit code 2', async () => {
    const number = spawnCompiled('dist/services/number-api/main.js', { PORT: 'eighty' });
    expect(await number.exited).toBe(2);
    expect(number.output().trim()).toBe(
      'number-api: invalid configuration: PORT must be an integer from 0 to 65535, got "eighty"',
    );
  });
});
