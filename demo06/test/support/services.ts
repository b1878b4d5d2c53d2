import { afterEach } from 'vitest';
import { EtcdCluster } from './etcd.js';
import { request } from './http.js';
import { freePort, isReady, type Spawned, spawnCompiled, waitFor } from './processes.js';

/**
 * Services as processes registering in a real etcd, as `npm start` and the containers run them. Whatever a
 * test starts here is stopped after it, etcd included.
 */

export type ServiceProcess = Spawned & { url: string; port: number; instanceId: string };

const spawned: Spawned[] = [];
const clusters: EtcdCluster[] = [];
afterEach(async () => {
  for (const s of spawned.splice(0)) s.killAll();
  for (const c of clusters.splice(0)) await c.stop();
});

/** An etcd of `size` members; `started: false` only plans it, to start services before it. */
export async function registry(size = 1, started = true): Promise<EtcdCluster> {
  const cluster = started ? await EtcdCluster.start(size) : await EtcdCluster.plan(size);
  clusters.push(cluster);
  return cluster;
}

export async function startService(
  name: string,
  etcd: EtcdCluster,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const instanceId = `${name}-${port}`;
  const service = spawnCompiled(`dist/services/${name}/main.js`, {
    PORT: String(port),
    ADVERTISE_HOST: '127.0.0.1',
    INSTANCE_ID: instanceId,
    ETCD_ENDPOINTS: etcd.env,
    ...env,
  });
  spawned.push(service);
  return { ...service, url: `http://127.0.0.1:${port}`, port, instanceId };
}

/** A service process, once it is ready to serve: registered, and has found what it calls. */
export async function startReady(
  name: string,
  etcd: EtcdCluster,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const started = await startService(name, etcd, env);
  await waitFor(`${name} ready`, () => isReady(started.url), 15_000, started.output);
  return started;
}

export const createBook = (bookUrl: string) =>
  request('POST', `${bookUrl}/api/books`, {
    json: { title: 'Dune', author: 'Frank Herbert', year: 1965, price: 9.5 },
  });
