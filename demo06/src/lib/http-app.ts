import express, { type Express, type RequestHandler } from 'express';
import type { ServiceConfig } from './config.js';
import { type HealthCheck, healthRoutes } from './health.js';
import { type Logger, requestLog } from './log.js';
import { metricsRoute, observeRequests } from './metrics.js';
import { openapiDocument } from '../openapi.js';
import { HttpProblem, problemHandler, unknownRoute } from './problem.js';
import { requestContext } from './request-context.js';
import type { Registry } from './registry.js';

export const bodyLimit = '64kb';

export interface ServiceContext {
  config: ServiceConfig;
  log: Logger;
  registry: Registry;
}

/** Every response says which instance answered: how people on stage see who served them. */
function servedBy(config: ServiceConfig): RequestHandler {
  const value = `${config.service}/${config.instanceId}`;
  return (_req, res, next) => {
    res.setHeader('X-Served-By', value);
    next();
  };
}

/** A body must be declared as JSON: anything else is refused before it is parsed. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new HttpProblem(
        415,
        `the request body must be application/json, got "${req.get('content-type') ?? 'none'}"`,
      ),
    );
    return;
  }
  next();
};

/**
 * The app factory every service starts from: the request's context (its id, the instances that served it),
 * headers, logs, request metrics, JSON bodies, health, /metrics and the OpenAPI document, then the
 * service's own routes, then the JSON 404 and the problem+json error handler.
 */
export function createServiceApp(
  { config, log, registry }: ServiceContext,
  routes: express.Router,
  readiness: HealthCheck[] = [],
  { parseBodies = true }: { parseBodies?: boolean } = {},
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext, servedBy(config), requestLog(log), observeRequests);
  // The gateway forwards bodies as they come (its services parse their own): `parseBodies: false`.
  if (parseBodies)
    app.use(requireJson, express.json({ limit: bodyLimit, strict: false, type: 'application/json' }));
  app.use(healthRoutes([registry.registration.readiness, ...readiness]));
  // The gateway's /metrics is on a port of its own (createMetricsApp): its own port is public.
  if (config.metricsPort === undefined) app.get('/metrics', metricsRoute);
  // The service's OpenAPI document, made from the schemas its routes validate with.
  app.get('/openapi.json', async (_req, res) => void res.json(await openapiDocument(config.service)));
  app.use(routes);
  app.use(unknownRoute);
  app.use(problemHandler((err) => log.error({ err }, 'unexpected error')));
  return app;
}

/** /metrics alone, for a service that serves it apart from its own port (`config.metricsPort`). */
export function createMetricsApp(log: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsRoute);
  app.use(unknownRoute);
  app.use(problemHandler((err) => log.error({ err }, 'unexpected error')));
  return app;
}
