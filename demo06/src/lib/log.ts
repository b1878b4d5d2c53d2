import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * Never logged, at the top of a log call's fields or up to three levels down: headers that carry credentials,
 * and any password or token field. Configured before any credential exists, so that no later log call can
 * leak one by accident. A scan of the keys rather than pino's `redact` paths: the wildcard paths this needs
 * cost 5–20 µs per line (measured), several times the rest of the line; the scan costs a fraction of a µs.
 */
const secretKeys = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'token',
  'accesstoken',
]);
export const redactedCensor = '[redacted]';
const redactDepth = 3;

const isSecret = (key: string) => secretKeys.has(key.toLowerCase());
/** Plain objects and arrays are looked into; an Error, a Date or any other instance is logged as it is. */
const nested = (value: unknown): value is Record<string, unknown> =>
  Array.isArray(value) ||
  (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype);

function holdsSecret(fields: Record<string, unknown>, depth: number): boolean {
  for (const key in fields) {
    if (isSecret(key)) return true;
    const value = fields[key];
    if (depth > 0 && nested(value) && holdsSecret(value, depth - 1)) return true;
  }
  return false;
}

/** A copy with every secret replaced; the caller's object is left as it was. */
function censored(fields: Record<string, unknown>, depth: number): Record<string, unknown> {
  const copy = (Array.isArray(fields) ? [] : {}) as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    copy[key] = isSecret(key)
      ? redactedCensor
      : depth > 0 && nested(value)
        ? censored(value, depth - 1)
        : value;
  }
  return copy;
}

export const redact = (fields: Record<string, unknown>) =>
  holdsSecret(fields, redactDepth) ? censored(fields, redactDepth) : fields;

/** Lines waiting while stdout cannot keep up, at most; past it they are dropped rather than grow the heap. */
const maxBufferedBytes = 4 * 1024 * 1024;

/** How long a line may wait for others to go out with it: short enough that a person never notices. */
const flushIntervalMs = 10;

/**
 * stdout, written at most once per `flushIntervalMs`: the lines of every request answered meanwhile go out
 * together in one write, instead of one write (and one wake-up of the reader: the runner of `npm start`, a
 * container's log driver) per line. Measured under load, a write per line cost a service 12–25 % of its CPU
 * and the runner as much again. Through `process.stdout`, so to a pipe the write never blocks: what the pipe
 * cannot take at once waits in libuv, and past `maxBufferedBytes` lines are dropped. What is left is written
 * by `flushLogs`, and when the process exits.
 */
class StdoutBatch implements DestinationStream {
  private parts: string[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    process.once('exit', flushLogs);
  }

  write(line: string): void {
    if (this.size + process.stdout.writableLength > maxBufferedBytes) return;
    this.parts.push(line);
    this.size += line.length;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(this.flush, flushIntervalMs);
    this.timer.unref();
  }

  private take(): string {
    const text = this.parts.length === 1 ? (this.parts[0] ?? '') : this.parts.join('');
    this.parts = [];
    this.size = 0;
    return text;
  }

  private readonly flush = () => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.parts.length > 0) process.stdout.write(this.take());
  };

  /** Before `process.exit`: what is buffered is written now, waiting for a full pipe if need be (up to 2 s). */
  flushSync(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.parts.length === 0) return;
    const text = this.take();
    // Lines already waiting in libuv go first: queued behind them, in order.
    if (process.stdout.writableLength > 0) {
      process.stdout.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let written = 0, waits = 0; written < bytes.length;) {
      try {
        written += writeSync(1, bytes, written);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 2000) throw err;
        Atomics.wait(pause, 0, 0, 1); // the pipe is full: give its reader a millisecond
      }
    }
  }
}

let stdout: StdoutBatch | undefined;
function stdoutDestination(): StdoutBatch {
  stdout ??= new StdoutBatch();
  return stdout;
}

/** Writes out every buffered line; call it before `process.exit`. */
export function flushLogs(): void {
  try {
    stdout?.flushSync();
  } catch {
    // stdout is gone: nothing left to save
  }
}

/** pino's ISO time, made once per millisecond rather than once per line. */
let timeOfMs = -1;
let timeField = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== timeOfMs) {
    timeOfMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/** One JSON object per line: easy to grep on stage, easy to ship anywhere later. */
export function createLogger(
  base: Record<string, unknown>,
  level: LogLevel = 'info',
  destination: DestinationStream = stdoutDestination(),
): Logger {
  return pino(
    {
      level,
      base,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }), log: redact },
    },
    destination,
  );
}

/**
 * One log line per request: method, route (the matched pattern, else the path), path, status, duration
 * and request id; never a body or a header. Health probes at debug level so they do not drown the rest.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const start = performance.now();
    const requestId = (req.headers['x-request-id'] as string | undefined) || randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const path = req.originalUrl;
    res.on('finish', () => {
      const fields = {
        method: req.method,
        route: req.route ? `${req.baseUrl}${String(req.route.path)}` : path.split('?', 1)[0],
        path,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - start) * 1000) / 1000,
        requestId,
      };
      if (path.startsWith('/health/')) log.debug(fields, 'request');
      else log.info(fields, 'request');
    });
    next();
  };
}
