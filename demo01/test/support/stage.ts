import type { Express } from 'express';
import { loadConfig, type ServiceName } from '../../src/lib/config.js';
import type { ServiceContext } from '../../src/lib/http-app.js';
import { createLogger } from '../../src/lib/log.js';
import { listen, type RunningService } from '../../src/lib/server.js';
import { buildApp as bookApi } from '../../src/services/book-api/app.js';
import { buildApp as cdApi } from '../../src/services/cd-api/app.js';
import { buildApp as dvdApi } from '../../src/services/dvd-api/app.js';
import { buildApp as inventoryApi } from '../../src/services/inventory-api/app.js';
import { buildApp as numberApi } from '../../src/services/number-api/app.js';
import { buildApp as shoppingcartApi } from '../../src/services/shoppingcart-api/app.js';

type ApiName = Exclude<ServiceName, 'web'>;

const factories: Record<ApiName, (ctx: ServiceContext) => Express> = {
  'number-api': numberApi,
  'inventory-api': inventoryApi,
  'book-api': bookApi,
  'cd-api': cdApi,
  'dvd-api': dvdApi,
  'shoppingcart-api': shoppingcartApi,
};

export interface TestStage {
  url: Record<ApiName, string>;
  running: Record<ApiName, RunningService>;
  stop(): Promise<void>;
}

/**
 * The stage's APIs started in this process on free ports and wired to each other by URL, as they are in
 * production. `instead` gives its callers another address for a service (a stopped port, a delaying proxy in
 * front of it); `env` adds to every service's environment (e.g. a smaller bound).
 */
export async function startStage(
  instead: Partial<Record<ApiName, string>> = {},
  env: Record<string, string> = {},
): Promise<TestStage> {
  const url = {} as Record<ApiName, string>;
  const running = {} as Record<ApiName, RunningService>;
  // Dependencies first, so that each caller is given the real URL of what it calls.
  const order: ApiName[] = [
    'number-api',
    'inventory-api',
    'book-api',
    'cd-api',
    'dvd-api',
    'shoppingcart-api',
  ];
  const at = (service: ApiName) => instead[service] ?? url[service];
  for (const name of order) {
    const config = loadConfig(name, {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      CALL_TIMEOUT_MS: '1000',
      NUMBER_API_URL: at('number-api'),
      INVENTORY_API_URL: at('inventory-api'),
      BOOK_API_URL: at('book-api'),
      CD_API_URL: at('cd-api'),
      DVD_API_URL: at('dvd-api'),
      ...env,
    });
    const ctx = {
      config,
      log: createLogger({ service: name, instance: config.instanceId }, config.logLevel),
    };
    running[name] = await listen(factories[name](ctx), ctx);
    url[name] = `http://127.0.0.1:${running[name].port}`;
  }
  return {
    url,
    running,
    stop: async () => {
      await Promise.all(Object.values(running).map((service) => service.stop()));
    },
  };
}
