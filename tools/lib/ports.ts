// The ports the tools reach a stage on: the store's fixed ports (the same in every stage, locally and in the
// containers: docs/API.md) and etcd's. The one table under tools/; a stage has its own in src/lib/config.ts.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const servicePorts = {
  web: 8080,
  'book-api': 8081,
  'cd-api': 8082,
  'dvd-api': 8083,
  'number-api': 8084,
  'inventory-api': 8085,
  'shoppingcart-api': 8086,
} as const;

export type Service = keyof typeof servicePorts;

/** etcd's client and peer ports, where `npm start` runs one. */
export const etcdPorts = { client: 2379, peer: 2380 } as const;

/** A service of a stage running on this machine. */
export const localUrl = (service: Service, host = '127.0.0.1'): string =>
  `http://${host}:${servicePorts[service]}`;

/** The gateway's port, from the stage that has one on (demo06): the single entry point. */
export const gatewayPort = 9000;

/** The gateway's metrics port: beside its own, for Prometheus, and never published. */
export const gatewayMetricsPort = 9001;

/** The port of a service of any stage, the gateway's included. */
export const portOf = (service: string): number | undefined =>
  service === 'gateway' ? gatewayPort : servicePorts[service as Service];

/** Whether a stage's services are reached through a gateway. */
export const hasGateway = (stageDir: string): boolean =>
  existsSync(join(stageDir, 'src', 'services', 'gateway'));

/** The storefront as a person opens it. */
export const storefrontUrl = `http://localhost:${servicePorts.web}`;

/** The storefront of a stage: through its gateway when it has one. */
export const storefrontUrlOf = (stageDir: string): string =>
  hasGateway(stageDir) ? `http://localhost:${gatewayPort}` : storefrontUrl;

/** The ports `npm start` needs free in a stage: every service's, the gateway's two, and etcd's where it runs one. */
export const stagePorts = (stageDir: string): number[] => [
  ...Object.values(servicePorts),
  ...(hasGateway(stageDir) ? [gatewayPort, gatewayMetricsPort] : []),
  ...(existsSync(join(stageDir, 'src', 'local', 'etcd.ts')) ? Object.values(etcdPorts) : []),
];

/** Whether a port can be listened on, on every address, as a stage's services listen. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, () => probe.close(() => done(true)));
  });
}

/** Waits until every port is free (another stage may still be stopping, or running), or says which are not. */
export async function waitForFreePorts(ports: number[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const busy: number[] = [];
    for (const port of ports) if (!(await portFree(port))) busy.push(port);
    if (busy.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `ports ${busy.join(', ')} are in use: is a stage still running? Stop it and run again.`,
      );
    }
    if (!said) console.log(`waiting for ports ${busy.join(', ')} to be free (another stage running?)`);
    said = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}
