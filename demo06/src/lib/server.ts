import type { Server } from 'node:http';
import type { Express } from 'express';
import { ConfigError, loadConfig, type ServiceName } from './config.js';
import { createMetricsApp, type ServiceContext } from './http-app.js';
import { createLogger, flushLogs } from './log.js';
import { Registry } from './registry.js';
import { stage } from './stage.js';

export interface RunningService {
  server: Server;
  /** The port it listens on (differs from the configured one when that was 0). */
  port: number;
  /** The port of its /metrics, when that is apart from `port` (the gateway's). */
  metricsPort?: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace time), then closes. */
  stop: () => Promise<void>;
}

/**
 * Listens, and on the metrics port too when the service has one; a busy port is one clear sentence naming the
 * service and the port, not a stack trace.
 */
export async function listen(app: Express, ctx: ServiceContext): Promise<RunningService> {
  const running = await listenOn(app, ctx.config.port, ctx);
  if (ctx.config.metricsPort === undefined) return running;
  const { metricsPort, metricsHost } = ctx.config;
  const metrics = await listenOn(createMetricsApp(ctx.log), metricsPort, ctx, metricsHost).catch(
    async (err: unknown) => {
      await running.stop();
      throw err;
    },
  );
  return {
    ...running,
    metricsPort: metrics.port,
    stop: async () => {
      await Promise.all([running.stop(), metrics.stop()]);
    },
  };
}

function listenOn(
  app: Express,
  wanted: number,
  { config }: ServiceContext,
  host = config.host,
): Promise<RunningService> {
  return new Promise((resolve, reject) => {
    const server = app.listen(wanted, host);
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`${config.service} cannot listen on port ${wanted}: the port is already in use`));
      } else reject(err);
    });
    server.once('listening', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : wanted;
      const stop = () =>
        new Promise<void>((done) => {
          const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
          // A keep-alive connection goes idle once its in-flight request is answered: close it then, rather
          // than wait for the client to hang up.
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          server.close(() => {
            clearTimeout(force);
            clearInterval(sweep);
            done();
          });
        });
      resolve({ server, port, stop });
    });
  });
}

/**
 * The entry point of every service: typed config, logger, app, listen, and a clean stop on SIGTERM/SIGINT.
 */
export async function runService(
  service: ServiceName,
  buildApp: (ctx: ServiceContext) => Express | Promise<Express>,
): Promise<void> {
  let ctx: ServiceContext;
  try {
    const config = loadConfig(service);
    const log = createLogger({ service, instance: config.instanceId }, config.logLevel);
    ctx = { config, log, registry: new Registry(config, log) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${service}: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  const { config, log, registry } = ctx;
  let running: RunningService;
  try {
    running = await listen(await buildApp(ctx), ctx);
  } catch (err) {
    log.error({ port: config.port, metricsPort: config.metricsPort }, (err as Error).message);
    flushLogs();
    process.exit(1);
  }
  log.info({ port: running.port, metricsPort: running.metricsPort, stage: stage.stage }, 'listening');
  registry.register(running.port, running.metricsPort);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    // Out of the registry first, so that callers stop choosing this instance while it finishes its work.
    await registry.close();
    await running.stop();
    log.info('stopped');
    flushLogs();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
