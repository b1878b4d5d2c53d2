import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  defaultPorts,
  etcdEndpoints,
  gatewayMetricsPort,
  loadConfig,
  serviceNames,
} from '../lib/config.js';
import { stage } from '../lib/stage.js';
import { ensureSigningKeyFile } from '../services/gateway/keys.js';
import { etcdInstalled, howToInstallEtcd, type LocalEtcd, localEtcdPorts, startLocalEtcd } from './etcd.js';
import {
  findGrafana,
  type LocalGrafana,
  localGrafanaPort,
  localGrafanaUrl,
  startLocalGrafana,
  withoutGrafana,
} from './grafana.js';
import { Batch, relay } from './log.js';
import { portIsFree } from './ports.js';
import {
  howToInstallPrometheus,
  type LocalPrometheus,
  localPrometheusPort,
  localPrometheusUrl,
  prometheusInstalled,
  startLocalPrometheus,
} from './prometheus.js';
import { type LocalInstance, localInstances, parseScale, ScaleError } from './scale.js';
import { stopInOrder } from './stop.js';
import { waitUntil } from './wait.js';

/**
 * `npm start`: etcd, then every service of the stage as its own process on its usual port, each log line
 * readable and prefixed with the service's name, and Prometheus when it is installed. Ctrl-C stops them all,
 * etcd last; one that fails to start stops the rest.
 */

const colours = [36, 32, 33, 35, 34, 91, 96];
const width = Math.max(...serviceNames.map((name) => name.length)) + 2;
const readyTimeoutMs = 30_000;
/**
 * V8's heap bound for every service, as in the compose file (a 128M limit per service; a Pi has 1–8 GB): 64 MiB
 * of old space, and 4 MiB semi-spaces — without them V8 sizes the young generation from the machine's RAM, and
 * the small old space then costs full collections (book creates fell to 0.3× with the old-space bound alone);
 * with 1 MiB ones a busy service collects its young garbage some 300 times a second.
 */
const nodeOptions = ['--enable-source-maps', '--max-old-space-size=64', '--max-semi-space-size=4'];
/**
 * Each log-in hashes with scrypt in 4 MiB, on one of libuv's threads; glibc's malloc, whose threshold for giving
 * such a buffer back to the system rises with the first one freed, then keeps one per thread: some 25 MiB of an
 * idle gateway's RSS. A fixed threshold gives them back (as in the compose file; musl's malloc does anyway).
 */
const gatewayMalloc = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' };
const colour = process.stdout.hasColors?.() ?? false;
const toStdout = new Batch(process.stdout);
const toStderr = new Batch(process.stderr);
const label = (name: string, code: number) =>
  colour ? `\x1b[${code}m${name.padEnd(width)} |\x1b[0m ` : `${name.padEnd(width)} | `;

const children = new Map<string, ChildProcess>();
let etcd: LocalEtcd | undefined;
let prometheus: LocalPrometheus | undefined;
let grafana: LocalGrafana | undefined;
let stopping = false;
let allReady = false;

/** Services first (each one deregisters as it stops), then etcd. */
function stopAll(exitCode: number) {
  if (stopping) return;
  stopping = true;
  const infrastructure = [grafana?.stop, prometheus?.stop, etcd?.stop].filter((stop) => stop !== undefined);
  void stopInOrder([...children.values()], infrastructure).then(() => {
    toStdout.flush();
    toStderr.flush();
    process.exit(exitCode);
  });
}

async function waitUntilReady({ label: name, port }: LocalInstance): Promise<void> {
  const url = `http://127.0.0.1:${port}/health/ready`;
  const ready = () =>
    stopping ||
    fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  if (!(await waitUntil(ready, readyTimeoutMs, 100)))
    throw new Error(`${name} was not ready within ${readyTimeoutMs / 1000} s (${url})`);
}

let instances: LocalInstance[];
try {
  instances = await localInstances(parseScale(process.argv.slice(2)));
} catch (err) {
  if (!(err instanceof ScaleError)) throw err;
  console.error(err.message);
  process.exit(2);
}
/**
 * Gateways (`--scale gateway=2`) must share a signing key, or each refuses the others' tokens: unless one is given
 * (GATEWAY_SIGNING_KEY_FILE), a demo key made for this run, in a folder of its own that the run removes.
 */
const gateways = instances.filter((i) => i.service === 'gateway').length;
const sharedKey: Record<string, string> = {};
/** What the first gateway will read (its usual port): the key file it is given, if any, and its metrics port. */
let gatewayConfig: ReturnType<typeof loadConfig>;
try {
  gatewayConfig = loadConfig('gateway');
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`invalid configuration: ${err.message}`);
  process.exit(2);
}
if (gateways > 1 && gatewayConfig.signingKeyFile === undefined) {
  const folder = mkdtempSync(join(tmpdir(), 'pie-gateway-key-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  sharedKey.GATEWAY_SIGNING_KEY_FILE = join(folder, 'demo-signing-key.pem');
  const { kid } = ensureSigningKeyFile(sharedKey.GATEWAY_SIGNING_KEY_FILE);
  console.log(
    `${gateways} gateways share a demo signing key made for this run (kid ${kid}): tokens end with it`,
  );
}
if (!etcdInstalled()) {
  console.error(howToInstallEtcd);
  process.exit(1);
}
const etcdUrl = etcdEndpoints()[0] ?? '';
/** The first gateway's metrics port (METRICS_PORT, else 9001); another gateway's is any free one. */
const metricsPort = gatewayConfig.metricsPort ?? gatewayMetricsPort;
const ports: [string, number][] = [
  ...serviceNames.map((name): [string, number] => [name, defaultPorts[name]]),
  ["the gateway's metrics", metricsPort],
  ...localEtcdPorts(etcdUrl).map((port): [string, number] => ['etcd', port]),
];
// The monitoring is optional: not installed, or its port taken (a system Prometheus, say), the store runs
// without it, and the runner says why.
let withPrometheus = prometheusInstalled();
if (!withPrometheus) console.error(howToInstallPrometheus);
else if (!(await portIsFree(localPrometheusPort))) {
  console.error(
    `port ${localPrometheusPort} is taken (another Prometheus?): the stage runs without its monitoring`,
  );
  withPrometheus = false;
}
let grafanaFound = withPrometheus ? findGrafana() : undefined;
if (grafanaFound && !(await portIsFree(localGrafanaPort))) {
  console.error(
    `port ${localGrafanaPort} is taken (another Grafana?): the stage runs without its dashboards`,
  );
  grafanaFound = undefined;
}
// The ports are checked first, so that another stage's services are never taken for ours.
const busy: [string, number][] = [];
for (const [name, port] of ports) if (!(await portIsFree(port))) busy.push([name, port]);
if (busy.length > 0) {
  for (const [name, port] of busy) console.error(`port ${port} (${name}) is already in use`);
  console.error(
    'Is another stage still running? Stop it (Ctrl-C, or `docker compose down`) and start again.',
  );
  process.exit(1);
}

const started = performance.now();
console.log(`${stage.stage} · ${stage.title}: starting etcd and ${instances.length} service instances`);
try {
  // Its own process group: Ctrl-C in the terminal reaches the runner and the services, and etcd is stopped
  // last, once every service has deregistered. Its death is said at once.
  etcd = await startLocalEtcd(etcdUrl, (line) => {
    if (!stopping) console.error(line);
  });
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
relay(etcd.child.stdout as NodeJS.ReadableStream, label('etcd', 37), toStdout, colour);
relay(etcd.child.stderr as NodeJS.ReadableStream, label('etcd', 37), toStderr, colour);
instances.forEach(({ service, label: name, port }) => {
  const entry = fileURLToPath(new URL(`../services/${service}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [...nodeOptions, entry], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Only the gateway is reachable from other machines (its metrics are not); the services listen on this
    // machine's loopback. The gateway's malloc gives back scrypt's 4 MiB buffers (see gatewayMalloc).
    env: {
      ...process.env,
      PORT: String(port),
      ...(service === 'gateway'
        ? {
            ...gatewayMalloc,
            ...sharedKey,
            METRICS_HOST: '127.0.0.1',
            METRICS_PORT: port === defaultPorts.gateway ? String(metricsPort) : '0',
          }
        : { HOST: '127.0.0.1' }),
    },
  });
  const prefix = label(name, colours[serviceNames.indexOf(service) % colours.length] ?? 0);
  relay(child.stdout, prefix, toStdout, colour);
  relay(child.stderr, prefix, toStderr, colour);
  // 'close': exited, and its last lines are read; they are shown before the runner says it exited.
  child.on('close', (code, signal) => {
    if (stopping) return;
    toStdout.flush();
    toStderr.flush();
    // Before the stage is up, a failure stops everything; afterwards a service stopped on purpose (a lab
    // exercise, a demo) leaves the others running, so its absence can be seen.
    if (!allReady) {
      console.error(
        `${name} exited (${signal ?? `code ${code}`}) before it was ready; stopping the other services`,
      );
      stopAll(1);
    } else console.error(`${name} exited (${signal ?? `code ${code}`}); the other services keep running`);
  });
  children.set(name, child);
});

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

// Beside the services: it finds them through the web service as they become ready.
const prometheusStarted = withPrometheus
  ? startLocalPrometheus().then(
      (started) => {
        prometheus = started;
        relay(started.child.stdout as NodeJS.ReadableStream, label('prometheus', 37), toStdout, colour);
        relay(started.child.stderr as NodeJS.ReadableStream, label('prometheus', 37), toStderr, colour);
      },
      (err: Error) => console.error(`${err.message}; the stage runs without its monitoring`),
    )
  : undefined;
const grafanaStarted = grafanaFound
  ? startLocalGrafana(grafanaFound).then(
      (started) => {
        grafana = started;
        relay(started.child.stderr as NodeJS.ReadableStream, label('grafana', 37), toStderr, colour);
        started.child.stdout?.resume(); // its own log lines, at warn level, go to stderr
      },
      (err: Error) => console.error(`${err.message}; the dashboards are in the Docker way`),
    )
  : undefined;

try {
  await Promise.all([...instances.map(waitUntilReady), prometheusStarted, grafanaStarted]);
  if (!stopping) {
    allReady = true;
    const ms = Math.round(performance.now() - started);
    console.log(`all ${instances.length} services ready in ${ms} ms`);
    for (const { label, port } of instances)
      console.log(`  ${label.padEnd(width)}  http://localhost:${port}`);
    console.log(
      `  ${'etcd'.padEnd(width)}  ${etcdUrl}   (the registry: etcdctl get --prefix /pie/services/)`,
    );
    if (prometheus)
      console.log(
        `  ${'prometheus'.padEnd(width)}  ${localPrometheusUrl}   (the metrics: /targets, /alerts, /graph)`,
      );
    if (grafana) console.log(`  ${'grafana'.padEnd(width)}  ${localGrafanaUrl}   (the dashboards)`);
    else if (prometheus) console.log(withoutGrafana);
    console.log(`storefront: http://localhost:${defaultPorts.gateway}   (Ctrl-C stops every service)`);
  }
} catch (err) {
  console.error((err as Error).message);
  stopAll(1);
}
