import { hostname } from 'node:os';
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

const localUrl = (service: ServiceName) => url(`http://localhost:${defaultPorts[service]}`);

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
  CORS_ORIGIN: text('*'),
  // Where a service finds the services it calls.
  NUMBER_API_URL: localUrl('number-api'),
  BOOK_API_URL: localUrl('book-api'),
  CD_API_URL: localUrl('cd-api'),
  DVD_API_URL: localUrl('dvd-api'),
  INVENTORY_API_URL: localUrl('inventory-api'),
  // Bounds on everything a client can grow (docs/API.md, "Limits"): a Pi has 1–8 GB for every service.
  CATALOG_MAX_ITEMS: integer(10_000, 1, 1_000_000),
  INVENTORY_MAX_RECORDS: integer(30_000, 1, 1_000_000),
  RESERVATION_TTL_SECONDS: integer(3600, 1, 7 * 24 * 3600),
  RESERVATION_MAX_KEPT: integer(10_000, 1, 1_000_000),
  CART_MAX_OPEN: integer(10_000, 1, 1_000_000),
  CART_IDLE_TTL_SECONDS: integer(1800, 1, 7 * 24 * 3600),
  CART_MAX_CHECKED_OUT: integer(10_000, 1, 1_000_000),
});

/** Where a service finds the services it calls. */
export interface ServiceUrls {
  numberApi: string;
  bookApi: string;
  cdApi: string;
  dvdApi: string;
  inventoryApi: string;
}

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
  urls: ServiceUrls;
  /** Origins allowed to call the APIs from a browser (CORS). */
  corsOrigin: string;
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
    urls: {
      numberApi: e.NUMBER_API_URL,
      bookApi: e.BOOK_API_URL,
      cdApi: e.CD_API_URL,
      dvdApi: e.DVD_API_URL,
      inventoryApi: e.INVENTORY_API_URL,
    },
    corsOrigin: e.CORS_ORIGIN,
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
