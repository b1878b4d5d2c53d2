import { afterEach, describe, expect, it } from 'vitest';
import { EtcdCluster, registeredInstances } from '../support/etcd.js';
import { request } from '../support/http.js';
import { freePort, isReady, type Spawned, spawnCompiled, waitFor } from '../support/processes.js';

/** Several instances of a service as processes, found through a real etcd, called through the load balancer. */

const spawned: Spawned[] = [];
const clusters: EtcdCluster[] = [];
afterEach(async () => {
  for (const s of spawned.splice(0)) s.killAll();
  for (const c of clusters.splice(0)) await c.stop();
});

type Started = Spawned & { url: string; id: string };

async function startService(
  name: string,
  etcd: EtcdCluster,
  env: Record<string, string> = {},
): Promise<Started> {
  const port = await freePort();
  const service = spawnCompiled(`dist/services/${name}/main.js`, {
    PORT: String(port),
    ADVERTISE_HOST: '127.0.0.1',
    INSTANCE_ID: `${name}-${port}`,
    ETCD_ENDPOINTS: etcd.env,
    ...env,
  });
  spawned.push(service);
  const started = { ...service, url: `http://127.0.0.1:${port}`, id: `${name}-${port}` };
  await waitFor(`${name} ready`, () => isReady(started.url), 15_000, service.output);
  return started;
}

async function store(numberInstances: number) {
  const etcd = await EtcdCluster.start();
  clusters.push(etcd);
  const numbers = await Promise.all(
    Array.from({ length: numberInstances }, () => startService('number-api', etcd)),
  );
  const book = await startService('book-api', etcd);
  await waitFor(
    'book-api to see every number-api',
    async () => (await registeredInstances(etcd.env, 'number-api')).length === numberInstances,
  );
  return { etcd, numbers, book };
}

const createBook = (bookUrl: string) =>
  request('POST', `${bookUrl}/api/books`, {
    json: { title: 'Dune', author: 'Frank Herbert', year: 1965, price: 9.5 },
  });
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
    expect([...counts.keys()].sort()).toEqual(numbers.map((n) => n.id).sort());
    for (const count of counts.values()) {
      expect(count).toBeGreaterThanOrEqual(60); // 20%
      expect(count).toBeLessThanOrEqual(138); // 46%
    }
  });

  it('sends traffic to a new instance within a second of its registering', async () => {
    const { etcd, book } = await store(2);
    const newcomer = await startService('number-api', etcd);
    const registered = Date.now();
    let answered = false;
    while (!answered && Date.now() - registered < 1000)
      answered = upstream(await createBook(book.url)) === newcomer.id;
    expect(answered).toBe(true);
  });

  it('one of 3 instances killed under load: creates fail only until it is ejected, then all succeed', async () => {
    const { numbers, book } = await store(3);
    const victim = numbers[0] as Started;
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
    await Promise.all(Array.from({ length: 8 }, load));
    const afterKill = outcomes.filter((o) => o.at > killedAt);
    const failed = afterKill.filter((o) => !o.ok);
    const ejectedAt = Date.parse(
      /"time":"([^"]+)","level":"warn".*"msg":"instance ejected"/.exec(book.output())?.[1] ?? '',
    );
    console.log(
      `creates after the kill: ${afterKill.length}, failed: ${failed.length}; ejected ${ejectedAt - killedAt} ms after the kill`,
    );
    expect(ejectedAt).toBeGreaterThanOrEqual(killedAt);
    // Failures only among requests in flight before the ejection; none answered by the dead instance after it.
    expect(failed.filter((o) => o.at > ejectedAt + 100)).toEqual([]);
    expect(afterKill.filter((o) => o.at > ejectedAt + 100 && o.from === victim.id)).toEqual([]);
    expect(afterKill.filter((o) => o.ok).length).toBeGreaterThan(0);
  });

  it('one of 3 catalog instances killed under load: idempotent reads see no failure at all', async () => {
    const etcd = await EtcdCluster.start();
    clusters.push(etcd);
    await startService('number-api', etcd);
    await startService('inventory-api', etcd);
    await startService('cd-api', etcd);
    await startService('dvd-api', etcd);
    const books = [
      await startService('book-api', etcd),
      await startService('book-api', etcd),
      await startService('book-api', etcd),
    ];
    const cart = await startService('shoppingcart-api', etcd);
    const cartId = (await request('POST', `${cart.url}/api/carts`)).body.id;
    let sent = 0;
    const failures: number[] = [];
    const load = async () => {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
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
