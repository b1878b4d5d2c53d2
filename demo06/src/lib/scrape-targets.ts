import { Router } from 'express';
import { serviceNames } from './config.js';
import type { Registry } from './registry.js';

/**
 * GET /registry/targets: every registered instance of every service, as Prometheus's HTTP service discovery
 * reads it (a list of target groups). The instances are in the registry already, so Prometheus finds each one,
 * scaled ones included, the same way under `npm start`, in compose and on the swarm, with no list to keep.
 */
export function scrapeTargetRoutes(registry: Registry): Router {
  const views = serviceNames.map((service) => registry.discover(service));
  const router = Router();
  router.get('/registry/targets', (_req, res) => {
    res.json(
      views.flatMap((view) =>
        view.instances.map((instance) => ({
          targets: [new URL(instance.metricsUrl ?? instance.url).host],
          labels: { service: instance.service, instance_id: instance.instanceId },
        })),
      ),
    );
  });
  return router;
}
