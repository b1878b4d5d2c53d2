import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ServiceView } from './registry.js';

/**
 * What every service tells Prometheus on GET /metrics: the process (heap, event-loop lag, GC, RSS), the requests
 * it answers, the calls it makes, and what its load balancers see. One registry per process, made once: tests
 * that build several apps in one process share it, and nothing is registered twice.
 *
 * Every label has a bounded set of values: a route is the pattern that matched (`/api/books/:id`, never the raw
 * path), and everything that matched no route shares `unmatched`, so random paths and ids add no series.
 */
export const metrics = new Registry();
collectDefaultMetrics({ register: metrics });

/** Seconds, from 1 ms (a read on a Pi) to 10 s (past any call timeout). */
const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Names and labels after the OpenTelemetry HTTP semantic conventions, as Prometheus spells them.
const serverDuration = new Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Requests this instance answered, by method, matched route and status code.',
  labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
  buckets,
  registers: [metrics],
});

const clientDuration = new Histogram({
  name: 'http_client_request_duration_seconds',
  help: 'Calls to other services, by the service and instance called and how the call ended.',
  labelNames: ['peer_service', 'peer_instance', 'outcome'],
  buckets,
  registers: [metrics],
});

/** The views of the registry this process keeps: their sizes are read when Prometheus scrapes. */
const views = new Set<ServiceView>();
new Gauge({
  name: 'pie_registry_instances',
  help: 'Instances of each service this process knows from the registry (the services it calls).',
  labelNames: ['peer_service'],
  registers: [metrics],
  collect() {
    this.reset();
    for (const view of views) this.set({ peer_service: view.service }, view.instances.length);
  },
});

const ejections = new Counter({
  name: 'pie_balancer_ejections_total',
  help: 'Instances the load balancer took out of rotation after a failure.',
  labelNames: ['peer_service'],
  registers: [metrics],
});

const retries = new Counter({
  name: 'pie_balancer_retries_total',
  help: 'Calls the load balancer retried on another instance.',
  labelNames: ['peer_service'],
  registers: [metrics],
});

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/**
 * Times every request, labelled once it is over, when the route that matched it is known. On 'close', not
 * 'finish': a request whose client went away before the answer (a caller's timeout: the slowest ones) is
 * counted too, with the status 499 (nginx's "client closed request").
 */
export const observeRequests: RequestHandler = (req, res, next) => {
  const start = performance.now();
  res.once('close', () => {
    serverDuration.observe(
      {
        http_request_method: knownMethods.has(req.method) ? req.method : '_OTHER',
        http_route: req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched',
        http_response_status_code: res.writableFinished ? res.statusCode : 499,
      },
      (performance.now() - start) / 1000,
    );
  });
  next();
};

const outcomes = [
  'ok',
  'server-error',
  'refused',
  'timed-out',
  'connection-lost',
  'not-json',
  'client-gone',
  'failed',
];
/** Long enough for Prometheus to scrape the last calls to an instance that left (it scrapes every 5 s). */
const forgetAfterMs = 60_000;

/**
 * An instance left the registry: its series go a minute later, so that instances coming and going (a new
 * container id for every restart) do not pile up series for as long as the caller runs.
 */
export function instanceLeft(peerService: string, peerInstance: string): void {
  setTimeout(() => {
    for (const outcome of outcomes)
      clientDuration.remove({ peer_service: peerService, peer_instance: peerInstance, outcome });
  }, forgetAfterMs).unref();
}

/** Starts timing one call to an instance; the function returned ends it with how it went. */
export function timeCall(peerService: string, peerInstance: string): (outcome: string) => void {
  const end = clientDuration.startTimer({ peer_service: peerService, peer_instance: peerInstance });
  return (outcome) => end({ outcome });
}

/** Reports a view's instance count from now on (until `forgetView`). */
export const watchView = (view: ServiceView) => views.add(view);
export const forgetView = (view: ServiceView) => views.delete(view);

export const countEjection = (peerService: string) => ejections.inc({ peer_service: peerService });
export const countRetry = (peerService: string) => retries.inc({ peer_service: peerService });

/** GET /metrics, in Prometheus's text format. */
export const metricsRoute: RequestHandler = async (_req, res) => {
  res.type(metrics.contentType).send(await metrics.metrics());
};
