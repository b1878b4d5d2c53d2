import type { Express } from 'express';
import { loadConfig, type ServiceName } from '../../src/lib/config.js';
import type { ServiceContext } from '../../src/lib/http-app.js';
import { createLogger } from '../../src/lib/log.js';
import { Registry } from '../../src/lib/registry.js';
import { listen, type RunningService } from '../../src/lib/server.js';
import { buildApp as bookApi } from '../../src/services/book-api/app.js';
import { buildApp as cdApi } from '../../src/services/cd-api/app.js';
import { buildApp as dvdApi } from '../../src/services/dvd-api/app.js';
import { buildApp as gateway } from '../../src/services/gateway/app.js';
import { buildApp as inventoryApi } from '../../src/services/inventory-api/app.js';
import { buildApp as numberApi } from '../../src/services/number-api/app.js';
import { buildApp as shoppingcartApi } from '../../src/services/shoppingcart-api/app.js';
import { EtcdCluster } from './etcd.js';
import { freePort } from './processes.js';

type ApiName = Exclude<ServiceName, 'web'>;

const factories: Record<ApiName, (ctx: ServiceContext) => Express | Promise<Express>> = {
  'number-api': numberApi,
  'inventory-api': inventoryApi,
  'book-api': bookApi,
  'cd-api': cdApi,
  'dvd-api': dvdApi,
  'shoppingcart-api': shoppingcartApi,
  gateway,
};

export interface TestStage {
  url: Record<ApiName, string>;
  running: Record<ApiName, RunningService>;
  etcd: EtcdCluster;
  stop(): Promise<void>;
}

/**
 * The stage's APIs started in this process on free ports with a real etcd, each registered and finding the
 * others through it, as in production. `instead` registers another address for a service (a stopped port, a
 * delaying proxy in front of it): its callers go there. `env` adds to every service's environment (e.g. a
 * smaller bound).
 */
export async function startStage(
  instead: Partial<Record<ApiName, string>> = {},
  env: Record<string, string> = {},
): Promise<TestStage> {
  const etcd = await EtcdCluster.start();
  const url = {} as Record<ApiName, string>;
  const running = {} as Record<ApiName, RunningService>;
  const registries: Registry[] = [];
  const stop = async () => {
    await Promise.all(registries.map((registry) => registry.close()));
    await Promise.all(Object.values(running).map((service) => service.stop()));
    await etcd.stop();
  };
  // Dependencies first, so that each caller finds what it calls already registered.
  const order: ApiName[] = [
    'number-api',
    'inventory-api',
    'book-api',
    'cd-api',
    'dvd-api',
    'shoppingcart-api',
    'gateway',
  ];
  try {
    for (const name of order) {
      const config = loadConfig(name, {
        // A port chosen up front rather than 0: the instance id (host:port) must be unique in the registry.
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        ADVERTISE_HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        CALL_TIMEOUT_MS: '1000',
        ETCD_ENDPOINTS: etcd.env,
        METRICS_PORT: '0', // the gateway's: any free one
        ...env,
      });
      const log = createLogger({ service: name, instance: config.instanceId }, config.logLevel);
      const ctx = { config, log, registry: new Registry(config, log) };
      registries.push(ctx.registry);
      running[name] = await listen(await factories[name](ctx), ctx);
      url[name] = `http://127.0.0.1:${running[name].port}`;
      const replacement = instead[name];
      if (replacement === undefined) ctx.registry.register(running[name].port, running[name].metricsPort);
      else ctx.registry.registration.start(registration(name, replacement));
    }
    await Promise.all(Object.values(url).map((u) => waitUntilRegistered(u)));
  } catch (err) {
    await stop(); // nothing left running, etcd included
    throw err;
  }
  return {
    url,
    running,
    etcd,
    stop,
  };
}

/** Registers `url` as the service's instance: callers go there, while the service itself is reachable only directly. */
const registration = (service: string, url: string) => ({
  service,
  instanceId: `${service}-stand-in`,
  url,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  version: 'test',
});

/** Until the service is registered and has found every dependency in the registry (reachable or not). */
async function waitUntilRegistered(url: string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const health = (await fetch(`${url}/health/ready`).then((r) => r.json())) as { reason?: string };
    if (!health.reason?.includes('registered')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  const health = await fetch(`${url}/health/ready`).then((r) => r.text());
  throw new Error(`${url} did not register and find its dependencies within 10 s: ${health}`);
}
