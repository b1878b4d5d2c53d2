import { hostname, type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { z } from 'zod';

/**
 * The stage's only reader of the environment: one zod schema of every variable, each with a local default, so
 * `npm start` needs no configuration; containers override what differs (ports stay the same everywhere).
 */

export const serviceNames = [
  'web',
  'book-api',
  'cd-api',
  'dvd-api',
  'number-api',
  'inventory-api',
  'shoppingcart-api',
  'gateway',
] as const;
export type ServiceName = (typeof serviceNames)[number];

export const defaultPorts: Record<ServiceName, number> = {
  web: 8080,
  'book-api': 8081,
  'cd-api': 8082,
  'dvd-api': 8083,
  'number-api': 8084,
  'inventory-api': 8085,
  'shoppingcart-api': 8086,
  gateway: 9000,
};

/** The gateway's /metrics: on a port of its own, which is not published, since the gateway's own port is public. */
export const gatewayMetricsPort = 9001;

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

/** An unset or empty variable takes its default. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

function optionalInteger(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z.preprocess(
    unsetIfEmpty,
    z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).optional(),
  );
}

const integer = (fallback: number, min: number, max: number) =>
  optionalInteger(min, max).transform((value) => value ?? fallback);

/** An absolute URL, without its trailing slash. */
function url(fallback: string) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .url({ error: 'must be an absolute URL' })
      .default(fallback)
      .transform((value) => value.replace(/\/$/, '')),
  );
}

const text = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback));

/** An IPv4 network such as 10.20.0.0/16, and the prefix of ADVERTISE_HOST that names one. */
const cidr = z.cidrv4();
const autoIn = 'auto:';

/** Every variable the stage reads, its default and its range. */
const environment = z.object({
  PORT: optionalInteger(0, 65535),
  HOST: text('0.0.0.0'),
  INSTANCE_ID: z.preprocess(unsetIfEmpty, z.string().optional()),
  LOG_LEVEL: z.preprocess(
    unsetIfEmpty,
    z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'),
  ),
  CALL_TIMEOUT_MS: integer(2000, 1, 60_000),
  SHUTDOWN_GRACE_MS: integer(5000, 0, 60_000),
  // The gateway's: the PEM file of its signing key (a compose or swarm secret; unset: a demo key made at start),
  // and how long it waits for a service's answer (longer than a service's own calls, so their 503s come through).
  GATEWAY_SIGNING_KEY_FILE: z.preprocess(unsetIfEmpty, z.string().optional()),
  UPSTREAM_TIMEOUT_MS: integer(10_000, 1, 120_000),
  // The gateway's metrics port (unset: 9001 beside the usual 9000; any free one beside another, a second gateway's),
  // and the address it listens on (unset: HOST's; `npm start` keeps it on loopback, as it does every service).
  METRICS_PORT: optionalInteger(0, 65535),
  METRICS_HOST: z.preprocess(unsetIfEmpty, z.string().optional()),
  // Where the registry is (etcd's client URLs, comma-separated; `npm start` runs one on the default), and the
  // host or address other services reach this instance at: `auto` is the machine's own IPv4 address, and
  // `auto:<cidr>` its IPv4 address inside that network (for a machine with several, such as a swarm task).
  ETCD_ENDPOINTS: text('http://127.0.0.1:2379'),
  ADVERTISE_HOST: text('localhost').refine(
    (value) => !value.startsWith(autoIn) || cidr.safeParse(value.slice(autoIn.length)).success,
    { error: `must be ${autoIn}<IPv4 network in CIDR notation>, such as ${autoIn}10.20.0.0/16` },
  ),
  // 10 s: a crashed instance is gone within 10 s (Eureka takes 90 s), yet two renewals in a row (every 3.3 s)
  // can be lost to a busy Pi or an etcd leader election before a live instance drops out.
  REGISTRY_TTL_SECONDS: integer(10, 2, 300),
  // Bounds on everything a client can grow (docs/API.md, "Limits"): a Pi has 1–8 GB for every service.
  CATALOG_MAX_ITEMS: integer(10_000, 1, 1_000_000),
  INVENTORY_MAX_RECORDS: integer(30_000, 1, 1_000_000),
  RESERVATION_TTL_SECONDS: integer(3600, 1, 7 * 24 * 3600),
  RESERVATION_MAX_KEPT: integer(10_000, 1, 1_000_000),
  CART_MAX_OPEN: integer(10_000, 1, 1_000_000),
  CART_IDLE_TTL_SECONDS: integer(1800, 1, 7 * 24 * 3600),
  CART_MAX_CHECKED_OUT: integer(10_000, 1, 1_000_000),
});

/** The bounds of every store a client can grow; a request past one gets a problem+json answer. */
export interface Limits {
  /** Items per catalog; a create past it is a 507. */
  catalogMaxItems: number;
  /** Stock records in inventory-api; a new record past it is a 507. */
  inventoryMaxRecords: number;
  /** How long a reservation answers a retry with the same Idempotency-Key; longer than a cart's idle TTL. */
  reservationTtlSeconds: number;
  /** Reservations remembered within their TTL; a new one past it is a 507. */
  reservationMaxKept: number;
  /** Open carts; a new cart past it is a 507. */
  cartMaxOpen: number;
  /** An open cart untouched for this long is dropped. */
  cartIdleTtlSeconds: number;
  /** Checked-out carts (and their orders) kept, the oldest dropped first. */
  cartMaxCheckedOut: number;
}

export interface ServiceConfig {
  service: ServiceName;
  host: string;
  port: number;
  /** Unique per process, stable for its life: shown in X-Served-By. */
  instanceId: string;
  logLevel: LogLevel;
  /** Timeout of every outgoing call, in milliseconds. */
  callTimeoutMs: number;
  /** How long a stopping service waits for in-flight requests. */
  shutdownGraceMs: number;
  /** etcd's client URLs: where the registry is. */
  etcdEndpoints: string[];
  /** The host name or address other services reach this instance at (registered with its port). */
  advertiseHost: string;
  /** Seconds a registration outlives its instance's last keepalive. */
  registryTtlSeconds: number;
  /** The gateway's signing key file (PEM); undefined: a demo key made at start. */
  signingKeyFile: string | undefined;
  /** How long the gateway waits for a service's answer, in milliseconds. */
  upstreamTimeoutMs: number;
  /** Where /metrics is served when not on `port` (the gateway's, whose port is public); undefined: on `port`. */
  metricsPort: number | undefined;
  /** The address the metrics port listens on. */
  metricsHost: string;
  limits: Limits;
}

/** The environment checked against the schema; the first problem is one sentence naming the variable. */
function readEnvironment(env: Env): z.infer<typeof environment> {
  const result = environment.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'the environment');
  throw new ConfigError(`${name} ${issue?.message ?? 'is invalid'}, got "${env[name]}"`);
}

const endpoint = url('');

function endpointsOf(value: string): string[] {
  return value.split(',').map((raw) => {
    const result = endpoint.safeParse(raw.trim());
    if (!result.success) throw new ConfigError(`ETCD_ENDPOINTS must be absolute URLs, got "${value}"`);
    return result.data;
  });
}

/** etcd's client URLs, from ETCD_ENDPOINTS. */
export const etcdEndpoints = (env: Env = process.env): string[] =>
  endpointsOf(readEnvironment(env).ETCD_ENDPOINTS);

/** An IPv4 address as a 32-bit number. */
const ipv4Number = (address: string): number =>
  address.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** Whether `address` is inside the network `network` (`10.20.0.0/16`; host bits of the network are ignored). */
function inNetwork(address: string, network: string): boolean {
  const [base = '', bits = '32'] = network.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4Number(address) / size) === Math.floor(ipv4Number(base) / size);
}

/**
 * `auto`: this machine's own IPv4 address, which is what a container needs (its address on its network).
 * `auto:<cidr>`: its IPv4 address inside that network, for a machine with several: a swarm task has one on the
 * overlay network the services share and one on docker_gwbridge, and `auto` may pick the wrong one.
 */
function advertiseHost(value: string): string {
  if (value !== 'auto' && !value.startsWith(autoIn)) return value;
  const ipv4 = Object.values(networkInterfaces())
    .flat()
    .filter((nic): nic is NetworkInterfaceInfo => nic?.family === 'IPv4');
  if (value === 'auto') {
    const address = ipv4.find((nic) => !nic.internal)?.address;
    if (address === undefined)
      throw new ConfigError('ADVERTISE_HOST=auto, but this machine has no IPv4 address');
    return address;
  }
  const network = value.slice(autoIn.length);
  const address = ipv4.find((nic) => inNetwork(nic.address, network))?.address;
  if (address === undefined) {
    const has = ipv4.map((nic) => nic.address).join(', ') || 'none';
    throw new ConfigError(
      `ADVERTISE_HOST=${value}, but no IPv4 address of this machine is in ${network} (its addresses: ${has})`,
    );
  }
  return address;
}

/** The port the container healthcheck probes: the service's own PORT. */
export const probePort = (env: Env = process.env): number => readEnvironment(env).PORT ?? defaultPorts.web;

export function loadConfig(service: ServiceName, env: Env = process.env): ServiceConfig {
  const e = readEnvironment(env);
  const port = e.PORT ?? defaultPorts[service];
  return {
    service,
    host: e.HOST,
    port,
    // With PORT=0 the port is chosen at listen, after this: the pid keeps two such instances apart.
    instanceId: e.INSTANCE_ID ?? (port === 0 ? `${hostname()}-pid${process.pid}` : `${hostname()}:${port}`),
    logLevel: e.LOG_LEVEL,
    callTimeoutMs: e.CALL_TIMEOUT_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    etcdEndpoints: endpointsOf(e.ETCD_ENDPOINTS),
    advertiseHost: advertiseHost(e.ADVERTISE_HOST),
    registryTtlSeconds: e.REGISTRY_TTL_SECONDS,
    signingKeyFile: e.GATEWAY_SIGNING_KEY_FILE,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    metricsPort:
      service === 'gateway'
        ? (e.METRICS_PORT ?? (port === defaultPorts.gateway ? gatewayMetricsPort : 0))
        : undefined,
    metricsHost: e.METRICS_HOST ?? e.HOST,
    limits: {
      catalogMaxItems: e.CATALOG_MAX_ITEMS,
      inventoryMaxRecords: e.INVENTORY_MAX_RECORDS,
      reservationTtlSeconds: e.RESERVATION_TTL_SECONDS,
      reservationMaxKept: e.RESERVATION_MAX_KEPT,
      cartMaxOpen: e.CART_MAX_OPEN,
      cartIdleTtlSeconds: e.CART_IDLE_TTL_SECONDS,
      cartMaxCheckedOut: e.CART_MAX_CHECKED_OUT,
    },
  };
}
