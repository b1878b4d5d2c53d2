import { describe, expect, it } from 'vitest';
import { registeredInstances } from '../support/etcd.js';
import { createBook, registry, startReady } from '../support/services.js';

describe('two registered instances of number-api', () => {
  it('every create is served by the same one, the first registered: the second gets nothing', async () => {
    const etcd = await registry();
    const first = await startReady('number-api', etcd);
    const second = await startReady('number-api', etcd);
    const book = await startReady('book-api', etcd);
    expect((await registeredInstances(etcd.env, 'number-api')).sort()).toEqual(
      [first.instanceId, second.instanceId].sort(),
    );

    // X-Upstream-Served-By names the number-api instance that gave each ISBN.
    const servedBy = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const created = await createBook(book.url);
      expect(created.status).toBe(201);
      const upstream = created.headers.get('x-upstream-served-by') ?? '(not said)';
      servedBy.set(upstream, (servedBy.get(upstream) ?? 0) + 1);
    }
    expect(Object.fromEntries(servedBy)).toEqual({ [`number-api/${first.instanceId}`]: 20 });
  });
});
