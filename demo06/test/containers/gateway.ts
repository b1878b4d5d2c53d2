/**
 * The gateway in containers (run by the repository's containers layer: tools/containers/): it is the store's only
 * published port, and the services cannot be reached from outside the compose network, while inside it they
 * answer. The probe is the same program both times (node's fetch, in the stage's own image), so the difference
 * is the network alone.
 */
import { run } from '../../../tools/containers/docker.ts';
import { describe, expect, it, type StageChecks } from '../../../tools/containers/stage-checks.ts';
import { gatewayMetricsPort, type Service, servicePorts } from '../../../tools/lib/ports.ts';

/** Exit 0 when the URL answers within 3 s, 3 when it does not. */
const probe = (url: string) =>
  `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then(() => process.exit(0), () => process.exit(3))`;

const checks: StageChecks = {
  define(running) {
    describe('the gateway, the only way in', () => {
      it('is the only published port of the store (besides Prometheus and Grafana)', async () => {
        running.markFailure();
        expect(Object.keys(running.published).sort()).toEqual(
          ['gateway', 'grafana', 'prometheus'].filter((s) => s in running.declared).sort(),
        );
        // Nothing listens for the services on the host: every connection to their ports is refused.
        for (const service of Object.keys(servicePorts) as Service[]) {
          const answered = await fetch(`http://127.0.0.1:${servicePorts[service]}/health/live`, {
            signal: AbortSignal.timeout(3000),
          }).then(
            () => true,
            () => false,
          );
          expect(answered, `${service} answered on the host's port ${servicePorts[service]}`).toBe(false);
        }
        // The gateway's metrics are on a port of its own, for Prometheus inside: not on its public port, not published.
        const gateway = `http://127.0.0.1:${running.published.gateway}`;
        expect((await fetch(`${gateway}/metrics`, { signal: AbortSignal.timeout(3000) })).status).toBe(404);
        const metricsAnswered = await fetch(`http://127.0.0.1:${gatewayMetricsPort}/metrics`, {
          signal: AbortSignal.timeout(3000),
        }).then(
          () => true,
          () => false,
        );
        expect(
          metricsAnswered,
          `the gateway's metrics answered on the host's port ${gatewayMetricsPort}`,
        ).toBe(false);
      }, 60_000);

      it('leaves the services unreachable from outside the compose network, and reachable inside it', async () => {
        running.markFailure();
        const book = running.appContainers.find((c) => c.service === 'book-api');
        expect(book, 'a book-api container').toBeDefined();
        const url = `http://${book?.ips[0]}:${servicePorts['book-api']}/health/live`;
        const image = (
          await run('docker', ['inspect', '--format', '{{.Config.Image}}', book?.id ?? ''], {
            timeoutMs: 30_000,
          })
        ).stdout.trim();
        const network = (
          await run(
            'docker',
            [
              'inspect',
              '--format',
              '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}',
              book?.id ?? '',
            ],
            { timeoutMs: 30_000 },
          )
        ).stdout.trim();
        const from = (networkName: string) =>
          run('docker', ['run', '--rm', '--network', networkName, image, 'node', '-e', probe(url)], {
            timeoutMs: 60_000,
          });
        const inside = await from(network);
        expect(inside.code, `from ${network}: ${inside.stderr}`).toBe(0);
        const outside = await from('bridge');
        expect(outside.code, `from Docker's default bridge network: ${outside.stderr}`).toBe(3);
        running.report.isolation = {
          url,
          inside: network,
          insideExit: inside.code,
          outside: 'bridge',
          outsideExit: outside.code,
        };
      }, 120_000);

      it('lets a customer through with a token, and nobody without one', async () => {
        running.markFailure();
        const gateway = `http://127.0.0.1:${running.published.gateway}`;
        const anonymous = await fetch(`${gateway}/api/carts`, { method: 'POST' });
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="pie"');
        const login = await fetch(`${gateway}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'alice-pie-2026' }),
        });
        const { accessToken } = (await login.json()) as { accessToken: string };
        const cart = await fetch(`${gateway}/api/carts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}` },
        });
        expect(cart.status).toBe(201);
        expect(cart.headers.get('x-upstream-served-by')).toMatch(/^shoppingcart-api\//);
      }, 60_000);
    });
  },
};

export default checks;
