import { Router } from 'express';

/** A readiness check: resolves when the dependency can serve, rejects with the reason when not. */
export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

/** /health/live: the process runs. /health/ready: it can serve, its dependencies are reachable. */
export function healthRoutes(checks: HealthCheck[]): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'up' });
  });
  router.get('/health/ready', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await check();
          return { name, status: 'up' };
        } catch (err) {
          return { name, status: 'down', reason: (err as Error).message };
        }
      }),
    );
    const down = results.filter((r) => r.status === 'down');
    res.status(down.length === 0 ? 200 : 503).json({
      status: down.length === 0 ? 'up' : 'down',
      checks: results,
      ...(down.length > 0 && { reason: down.map((d) => `${d.name}: ${d.reason}`).join('; ') }),
    });
  });
  return router;
}
