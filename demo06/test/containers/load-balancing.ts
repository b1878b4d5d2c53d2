/**
 * Client-side load balancing in containers (run by the repository's containers layer: tools/containers/): the
 * stack runs as a speaker runs it, `docker compose up --scale number-api=3`; creates spread over all three, and a
 * killed instance drops out when its lease expires, after which the survivors serve every create.
 */
import { run } from '../../../tools/containers/docker.ts';
import type { BookCreate } from '../../../tools/containers/smoke.ts';
import { afterAll, describe, expect, it, type StageChecks } from '../../../tools/containers/stage-checks.ts';
import { servicePorts } from '../../../tools/lib/ports.ts';
import { waitFor } from '../../../tools/lib/wait.ts';
import { registryTtlSeconds } from './registry.ts';

const seconds = (ms: number) => Number((ms / 1000).toFixed(1));
const numberApiPort = servicePorts['number-api'];
const upstreamOf = (instanceId: string) => `number-api/${instanceId}`;

/** Creates per instance that answered (X-Upstream-Served-By), or per status where none did. */
function tally(results: BookCreate[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results)
    counts[r.upstream ?? `HTTP ${r.status}`] = (counts[r.upstream ?? `HTTP ${r.status}`] ?? 0) + 1;
  return counts;
}

const checks: StageChecks = {
  scale: { 'number-api': 3 },
  define(running) {
    const ttlSeconds = registryTtlSeconds(running);

    describe('client-side load balancing over scaled instances', () => {
      // The killed instance comes back, so that checks run after these find the stack as it was.
      afterAll(async () => {
        await running.stack.exec(['start', 'number-api'], 60_000);
        await running.waitHealthy(running.states.length, 2 * 60_000);
      }, 3 * 60_000);

      it('spreads 60 book creates over all 3 number-api instances', async () => {
        running.markFailure();
        const numberApis = running.appContainers.filter((c) => c.service === 'number-api');
        expect(numberApis.length).toBe(3);
        const registered = await (await running.etcd()).instancesOf('number-api');
        const expected = numberApis.map((c) => upstreamOf(`${c.hostname}:${numberApiPort}`)).sort();
        expect(registered.map((r) => upstreamOf(r.instanceId)).sort()).toEqual(expected);

        const results: BookCreate[] = [];
        for (let i = 0; i < 60; i++) results.push(await running.createBook());
        const failures = results.filter((r) => r.status !== 201);
        expect(failures, JSON.stringify(failures.slice(0, 3))).toEqual([]);
        const counts = tally(results);
        console.log(`60 creates, X-Upstream-Served-By: ${JSON.stringify(counts)}`);
        expect(Object.keys(counts).sort()).toEqual(expected);
        for (const [instance, n] of Object.entries(counts))
          expect(n, `${instance} served ${n} of 60`).toBeGreaterThanOrEqual(10);
        running.report.spread = counts;
      }, 120_000);

      it('drops a killed instance when its lease expires; then the survivors serve every create', async () => {
        running.markFailure();
        const registry = await running.etcd();
        const numberApis = running.appContainers.filter((c) => c.service === 'number-api');
        const victim = numberApis[0]!;
        const victimId = `${victim.hostname}:${numberApiPort}`;
        const survivors = numberApis.slice(1).map((c) => upstreamOf(`${c.hostname}:${numberApiPort}`));
        // When the survivors' processes started: the test must be the only one stopping number-api here.
        const startedAt = async () =>
          (
            await run(
              'docker',
              ['inspect', '--format', '{{.State.StartedAt}}', ...numberApis.slice(1).map((c) => c.id)],
              { timeoutMs: 30_000 },
            )
          ).stdout.trim();
        const survivorsStarted = await startedAt();

        // SIGKILL: no deregistration; the key stays until its lease runs out.
        const t0 = Date.now();
        const killed = await run('docker', ['kill', victim.id], { timeoutMs: 30_000 });
        expect(killed.code, killed.stderr).toBe(0);
        // Watch the key closely while creates go on (one that meets the dead instance waits for its timeout).
        let expiredMs: number | undefined;
        let done = false;
        const expiry = waitFor(
          `the key of ${victimId} gone`,
          async () =>
            (await registry.instancesOf('number-api')).some((r) => r.instanceId === victimId)
              ? undefined
              : true,
          (ttlSeconds + 10) * 1000,
          100,
        )
          .then(
            () => {
              expiredMs = Date.now() - t0;
            },
            () => undefined, // reported below: expiredMs stays undefined
          )
          .finally(() => {
            done = true;
          });
        const during: BookCreate[] = [];
        while (!done) {
          during.push(await running.createBook());
          await new Promise((r) => setTimeout(r, 100));
        }
        await expiry;
        const failedDuring = during.filter((r) => r.status !== 201);
        console.log(
          `killed ${victimId}: key ${expiredMs === undefined ? 'still there' : `gone after ${seconds(expiredMs)} s`}; ` +
            `${during.length} creates meanwhile, ${failedDuring.length} failed: ${JSON.stringify(tally(during))}` +
            (failedDuring.length > 0
              ? ` (${[...new Set(failedDuring.map((r) => `${r.status} ${r.detail ?? ''}`.trim()))].join(' | ')})`
              : ''),
        );
        expect(expiredMs, `the key of ${victimId} outlived its TTL`).toBeDefined();
        expect(expiredMs!).toBeLessThanOrEqual((ttlSeconds + 2) * 1000);

        // The containers' processes are visible on the host: a `pkill -f 'number-api/main.js$'` there (the labs
        // have one) stops these too, and restart: unless-stopped brings them back. Say so rather than blame the stage.
        expect(
          await startedAt(),
          'a surviving number-api container was restarted during the test: something on this host stopped its ' +
            'process (a `pkill -f number-api/main.js` of a local run of the stage also matches the containers)',
        ).toBe(survivorsStarted);

        // A moment for the watch to tell book-api, then every create must succeed, on the survivors only.
        await new Promise((r) => setTimeout(r, 1000));
        const after: BookCreate[] = [];
        for (let i = 0; i < 30; i++) after.push(await running.createBook());
        const counts = tally(after);
        console.log(`30 creates after the expiry, X-Upstream-Served-By: ${JSON.stringify(counts)}`);
        expect(
          after.filter((r) => r.status !== 201),
          JSON.stringify(after.filter((r) => r.status !== 201).slice(0, 3)),
        ).toEqual([]);
        expect(Object.keys(counts).sort()).toEqual([...survivors].sort());
        const state = await run('docker', ['inspect', '--format', '{{.State.Status}}', victim.id], {
          timeoutMs: 30_000,
        });
        expect(
          state.stdout.trim(),
          'the killed container stays down (docker kill is not a crash to restart)',
        ).toBe('exited');
        running.report.kill = {
          victim: victimId,
          keyExpiredAfterSeconds: seconds(expiredMs!),
          createsWhileExpiring: during.length,
          failedWhileExpiring: failedDuring.length,
          failuresWhileExpiring: [
            ...new Set(failedDuring.map((r) => `${r.status} ${r.detail ?? ''}`.trim())),
          ],
          whileExpiring: tally(during),
          afterExpiry: counts,
        };
      }, 120_000);
    });
  },
};

export default checks;
