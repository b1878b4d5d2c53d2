import { describe, expect, it } from 'vitest';
import { type EtcdCluster, registeredInstances } from '../support/etcd.js';
import { request } from '../support/http.js';
import { isReady, waitFor } from '../support/processes.js';
import { createBook, registry, type ServiceProcess, startService } from '../support/services.js';

/** Several instances of a service as processes, found through a real etcd, called through the load balancer. */

/** A service process, ready to serve. */
async function startReady(name: string, etcd: EtcdCluster): Promise<ServiceProcess> {
  const started = await startService(name, etcd);
  await waitFor(`${name} ready`, () => isReady(started.url), 15_000, started.output);
  return started;
}

async function store(numberInstances: number) {
  const etcd = await registry();
  const numbers = await Promise.all(
    Array.from({ length: numberInstances }, () => startReady('number-api', etcd)),
  );
  const book = await startReady('book-api', etcd);
  await waitFor(
    'book-api to see every number-api',
    async () => (await registeredInstances(etcd.env, 'number-api')).length === numberInstances,
  );
  return { etcd, numbers, book };
}

/** A service's JSON log lines. */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** Which number-api instance gave the ISBN: the book-api response names it. */
const upstream = (response: { headers: Headers }) =>
  response.headers.get('x-upstream-served-by')?.replace('number-api/', '') ?? '';

describe('client-side load balancing', () => {
  it('spreads 300 ISBN requests over 3 number-api instances, round-robin', async () => {
    const { numbers, book } = await store(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const created = await createBook(book.url);
      expect(created.status).toBe(201);
      counts.set(upstream(created), (counts.get(upstream(created)) ?? 0) + 1);
    }
    console.log('ISBN requests per instance:', Object.fromEntries(counts));
    expect([...counts.keys()].sort()).toEqual(numbers.map((n) => n.instanceId).sort());
    for (const count of counts.values()) {
      expect(count).toBeGreaterThanOrEqual(60); // 20%
      expect(count).toBeLessThanOrEqual(138); // 46%
    }
  });

  it('sends traffic to a new instance within a second of its registering', async () => {
    const { etcd, book } = await store(2);
    const newcomer = await startReady('number-api', etcd);
    const registered = Date.now();
    let answered = false;
    while (!answered && Date.now() - registered < 1000)
      answered = upstream(await createBook(book.url)) === newcomer.instanceId;
    expect(answered).toBe(true);
  });

  it('one of 3 instances killed under load: creates fail only until it is ejected, then all succeed', async () => {
    const { numbers, book } = await store(3);
    const victim = numbers[0] as ServiceProcess;
    const concurrency = 8;
    const outcomes: { at: number; ok: boolean; from: string }[] = [];
    let killedAt = 0;
    const load = async () => {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        const created = await createBook(book.url);
        outcomes.push({ at: Date.now(), ok: created.status === 201, from: upstream(created) });
        if (!killedAt && outcomes.length >= 100) {
          killedAt = Date.now();
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, load));
    const afterKill = outcomes.filter((o) => o.at > killedAt);
    const failed = afterKill.filter((o) => !o.ok);
    console.log(`creates after the kill: ${afterKill.length}, failed: ${failed.length}`);
    expect(logLines(book.output())).toContainEqual(
      expect.objectContaining({ msg: 'instance ejected', ejected: victim.instanceId }),
    );
    // At most the creates that were inside the victim when it died (one per concurrent client); a create that
    // finds it gone is retried elsewhere, and once ejected it is not chosen again.
    expect(failed.length).toBeLessThanOrEqual(concurrency);
    const secondHalf = afterKill.slice(afterKill.length / 2);
    expect(secondHalf.filter((o) => !o.ok || o.from === victim.instanceId)).toEqual([]);
  });

  it('one of 3 catalog instances killed under load: idempotent reads see no failure at all', async () => {
    const etcd = await registry();
    await startReady('number-api', etcd);
    await startReady('inventory-api', etcd);
    await startReady('cd-api', etcd);
    await startReady('dvd-api', etcd);
    const books = [
      await startReady('book-api', etcd),
      await startReady('book-api', etcd),
      await startReady('book-api', etcd),
    ];
    const cart = await startReady('shoppingcart-api', etcd);
    const newCart = async () => (await request('POST', `${cart.url}/api/carts`)).body.id as number;
    let sent = 0;
    const failures: number[] = [];
    const load = async () => {
      const until = Date.now() + 3000;
      let cartId = await newCart();
      for (let inCart = 1; Date.now() < until; inCart++) {
        if (inCart % 90 === 0) cartId = await newCart(); // a cart holds at most 99 of one item
        // Adding an item looks it up in book-api (a GET): safe to retry on another instance.
        const added = await request('POST', `${cart.url}/api/carts/${cartId}/items`, {
          json: { type: 'book', id: 1 + (sent % 5), quantity: 1 },
        });
        if (++sent === 100) books[0]?.child.kill('SIGKILL');
        if (added.status >= 400) failures.push(added.status);
      }
    };
    await Promise.all(Array.from({ length: 8 }, load));
    console.log(`adds to cart: ${sent} sent, ${failures.length} failed, one of 3 book-api killed after 100`);
    expect(sent).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });
});
