import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * Never logged, at the top of a log call's fields or up to three levels down: headers that carry credentials,
 * and any password or token field. Configured before any credential exists, so that no later log call can
 * leak one by accident.
 */
const secretKeys = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'password', 'token'];
export const redactedPaths = secretKeys.flatMap((key) => {
  const step = /^\w+$/.test(key) ? `.${key}` : `["${key}"]`;
  return [step.replace(/^\./, ''), `*${step}`, `*.*${step}`, `*.*.*${step}`];
});
export const redactedCensor = '[redacted]';

let stdout: ReturnType<typeof pino.destination> | undefined;
/** Lines waiting while stdout cannot keep up, at most; past it they are dropped rather than grow the heap. */
const maxBufferedBytes = 4 * 1024 * 1024;

/**
 * Asynchronous: lines that arrive while a write is under way go out together in the next one, instead of one
 * blocking write per line (that was a quarter of a busy service's CPU). `flushLogs` writes what is left.
 */
function stdoutDestination() {
  stdout ??= pino.destination({ dest: 1, sync: false, maxLength: maxBufferedBytes });
  return stdout;
}

/** Writes out every buffered line; call it before `process.exit`. */
export function flushLogs(): void {
  try {
    stdout?.flushSync();
  } catch {
    // nothing was written yet, or stdout is gone: nothing left to save
  }
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
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: redactedCensor },
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
    const start = process.hrtime.bigint();
    const requestId = req.get('x-request-id') || randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const path = req.originalUrl;
    res.on('finish', () => {
      const fields = {
        method: req.method,
        route: req.route ? `${req.baseUrl}${String(req.route.path)}` : path.split('?', 1)[0],
        path,
        status: res.statusCode,
        durationMs: Number((process.hrtime.bigint() - start) / 1000n) / 1000,
        requestId,
      };
      if (path.startsWith('/health/')) log.debug(fields, 'request');
      else log.info(fields, 'request');
    });
    next();
  };
}
