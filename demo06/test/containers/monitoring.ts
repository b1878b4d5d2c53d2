/**
 * Monitoring in containers (run by the repository's containers layer: tools/containers/): Prometheus finds every
 * container of the store through the registry, the scaled number-api instances included, with no target list;
 * a stopped instance leaves its targets and comes back when it starts. The discovery times are reported, not
 * asserted. Grafana has no stand-in on a machine that cannot pull it: the layer says so when it leaves it out.
 */
import { run } from '../../../tools/containers/docker.ts';
import { describe, expect, it, type StageChecks } from '../../../tools/containers/stage-checks.ts';
import { portOf, servicePorts } from '../../../tools/lib/ports.ts';
import { waitFor } from '../../../tools/lib/wait.ts';

const seconds = (ms: number) => Number((ms / 1000).toFixed(1));

interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
}

const checks: StageChecks = {
  define(running) {
    const prometheus = () => `http://127.0.0.1:${running.published.prometheus}`;
    /** The job's targets Prometheus has scraped successfully, by instance id. */
    const upTargets = async (): Promise<string[]> => {
      const response = await fetch(`${prometheus()}/api/v1/targets?state=active`, {
        signal: AbortSignal.timeout(5000),
      });
      const body = (await response.json()) as { data: { activeTargets: Target[] } };
      return body.data.activeTargets
        .filter((t) => t.labels.job === 'pie' && t.health === 'up')
        .map((t) => t.labels.instance_id ?? '')
        .sort();
    };
    const instanceIds = () => running.appContainers.map((c) => `${c.hostname}:${portOf(c.service)}`).sort();

    describe('monitoring', () => {
      it('Prometheus finds and scrapes every container of the store, scaled ones included', async () => {
        running.markFailure();
        const t0 = Date.now();
        const expected = instanceIds();
        await waitFor(
          `Prometheus scraping ${expected.join(', ')}`,
          async () => ((await upTargets()).join() === expected.join() ? true : undefined),
          60_000,
          500,
        );
        console.log(
          `Prometheus scraped all ${expected.length} containers within ${seconds(Date.now() - t0)} s`,
        );
        const query = await fetch(
          `${prometheus()}/api/v1/query?query=${encodeURIComponent('count by (service) (up{job="pie"} == 1)')}`,
        );
        const result = ((await query.json()) as { data: { result: { metric: { service: string } }[] } }).data
          .result;
        expect(result.map((r) => r.metric.service).sort()).toEqual(
          [...new Set(running.appContainers.map((c) => c.service))].sort(),
        );
      }, 90_000);

      it(
        'drops a stopped instance from its targets, and finds it again when it starts',
        async () => {
          running.markFailure();
          const victim = running.appContainers.find((c) => c.service === 'number-api')!;
          const id = `${victim.hostname}:${servicePorts['number-api']}`;
          let t0 = Date.now();
          const stopped = await run('docker', ['stop', victim.id], { timeoutMs: 60_000 });
          expect(stopped.code, stopped.stderr).toBe(0);
          await waitFor(
            `${id} gone from the targets`,
            async () => !(await upTargets()).includes(id) || undefined,
            60_000,
            500,
          );
          const goneS = seconds(Date.now() - t0);
          t0 = Date.now();
          const started = await run('docker', ['start', victim.id], { timeoutMs: 60_000 });
          expect(started.code, started.stderr).toBe(0);
          await waitFor(
            `${id} scraped again`,
            async () => (await upTargets()).includes(id) || undefined,
            90_000,
            500,
          );
          console.log(
            `stopped ${id}: gone from the targets after ${goneS} s; started: scraped again after ${seconds(Date.now() - t0)} s`,
          );
          running.report.discovery = { goneSeconds: goneS, foundAgainSeconds: seconds(Date.now() - t0) };
          await running.waitHealthy(running.states.length, 2 * 60_000);
        },
        4 * 60_000,
      );
    });
  },
};

export default checks;
