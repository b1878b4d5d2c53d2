import { hostname, networkInterfaces } from 'node:os';

/**
 * The stage's only reader of the environment. Every value has a local default, so `npm start` needs no
 * configuration; containers override what differs (ports stay the same everywhere).
 */

export const serviceNames = [
  'web',
  'book-api',
  'cd-api',
  'dvd-api',
  'number-api',
  'inventory-api',
  'shoppingcart-api',
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
};

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
  /** Origins allowed to call the APIs from a browser (CORS); `*` until the gateway makes it same-origin. */
  corsOrigin: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function url(env: Env, name: string, fallback: string): string {
  const value = env[name] || fallback;
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got "${value}"`);
  }
}

/** etcd's client URLs, comma-separated in ETCD_ENDPOINTS; `npm start` runs one on the default. */
export function etcdEndpoints(env: Env = process.env): string[] {
  const value = env.ETCD_ENDPOINTS || 'http://127.0.0.1:2379';
  return value.split(',').map((endpoint) => url({ ETCD_ENDPOINTS: endpoint.trim() }, 'ETCD_ENDPOINTS', ''));
}

/** `auto`: this machine's own IPv4 address, which is what a container needs (its address on its network). */
function advertiseHost(env: Env): string {
  const value = env.ADVERTISE_HOST || 'localhost';
  if (value !== 'auto') return value;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic !== undefined && nic.family === 'IPv4' && !nic.internal)?.address;
  if (address === undefined)
    throw new ConfigError('ADVERTISE_HOST=auto, but this machine has no IPv4 address');
  return address;
}

/** The port the container healthcheck probes: the service's own PORT. */
export const probePort = (env: Env = process.env): number => integer(env, 'PORT', defaultPorts.web, 1, 65535);

export function loadConfig(service: ServiceName, env: Env = process.env): ServiceConfig {
  const port = integer(env, 'PORT', defaultPorts[service], 0, 65535);
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  return {
    service,
    host: env.HOST || '0.0.0.0',
    port,
    instanceId: env.INSTANCE_ID || `${hostname()}:${port}`,
    logLevel,
    callTimeoutMs: integer(env, 'CALL_TIMEOUT_MS', 2000, 1, 60_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 5000, 0, 60_000),
    etcdEndpoints: etcdEndpoints(env),
    advertiseHost: advertiseHost(env),
    // 10 s: a crashed instance is gone within 10 s (Eureka takes 90 s), yet two renewals in a row (every 3.3 s)
    // can be lost to a busy Pi or an etcd leader election before a live instance drops out.
    registryTtlSeconds: integer(env, 'REGISTRY_TTL_SECONDS', 10, 2, 300),
    corsOrigin: env.CORS_ORIGIN || '*',
  };
}
