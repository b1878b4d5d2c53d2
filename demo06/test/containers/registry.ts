/**
 * The service registry in containers (run by the repository's containers layer: tools/containers/): every
 * instance is registered at its container's address, and a stopped service leaves the registry at once and is
 * found again when it starts.
 */
import { run } from '../../../tools/containers/docker.ts';
import { servicesPrefix } from '../../../tools/containers/registry.ts';
import {
  describe,
  expect,
  it,
  type RunningStack,
  type StageChecks,
} from '../../../tools/containers/stage-checks.ts';
import { portOf } from '../../../tools/lib/ports.ts';
import { waitFor } from '../../../tools/lib/wait.ts';

const seconds = (ms: number) => Number((ms / 1000).toFixed(1));

/** The registration TTL (REGISTRY_TTL_SECONDS): 10 s, unless the compose file sets another. */
export const registryTtlSeconds = (running: RunningStack): number =>
  Number(
    (running.declared['number-api'] as { environment?: Record<string, string> } | undefined)?.environment
      ?.REGISTRY_TTL_SECONDS ?? 10,
  );

const checks: StageChecks = {
  define(running) {
    describe('service registry', () => {
      it('registers every instance of every service in etcd, at its container address', async () => {
        running.markFailure();
        // What a speaker types: etcd is not published, so look inside with its own etcdctl.
        const listing = await running.stack.exec(
          ['exec', '-T', 'etcd', '/usr/local/bin/etcdctl', 'get', '--prefix', servicesPrefix, '--keys-only'],
          60_000,
        );
        expect(listing.code, listing.stderr).toBe(0);
        const keys = listing.stdout.split('\n').filter((l) => l.startsWith(servicesPrefix));
        const listed = new Set(keys.map((k) => k.slice(servicesPrefix.length).split('/')[0]));
        const apps = running.appContainers;
        expect([...listed].sort()).toEqual([...new Set(apps.map((c) => c.service))].sort());
        expect(keys.length, keys.join('\n')).toBe(apps.length);

        const registrations = await (await running.etcd()).registrations();
        for (const container of apps) {
          const port = portOf(container.service);
          const instanceId = `${container.hostname}:${port}`;
          const entry = registrations.find(
            (r) => r.key === `${servicesPrefix}${container.service}/${instanceId}`,
          );
          expect(
            entry,
            `${container.service} (${instanceId}) in ${JSON.stringify(registrations)}`,
          ).toBeDefined();
          expect(entry?.url, `${container.service}: ADVERTISE_HOST=auto is the container's address`).toBe(
            `http://${container.ips[0]}:${port}`,
          );
          expect(entry?.leased, `${container.service}: the key lives on a lease`).toBe(true);
        }
        running.report.registry = { keys };
        console.log(`registered:\n${keys.join('\n')}`);

        // Only other services call number-api: it publishes no port.
        expect(running.published['number-api']).toBeUndefined();
        for (const container of apps.filter((c) => c.service === 'number-api')) {
          const port = await run('docker', ['port', container.id], { timeoutMs: 30_000 });
          expect(port.stdout.trim(), `${container.name} publishes no port`).toBe('');
        }
      }, 120_000);

      it('drops a stopped service from the registry at once, and finds it again when it starts', async () => {
        running.markFailure();
        const registry = await running.etcd();
        const before = await registry.instancesOf('number-api');
        expect(before.length).toBe(running.scale['number-api'] ?? 1);

        // `docker compose stop` sends SIGTERM: the service revokes its lease before it exits.
        const t0 = Date.now();
        const gone = waitFor(
          'number-api keys gone from etcd',
          async () => ((await registry.instancesOf('number-api')).length === 0 ? true : undefined),
          30_000,
          100,
        );
        const stopped = await running.stack.exec(['stop', 'number-api'], 60_000);
        expect(stopped.code, stopped.stderr).toBe(0);
        const stopSeconds = seconds(Date.now() - t0);
        const goneSeconds = seconds((await gone).ms);
        console.log(
          `number-api: keys gone ${goneSeconds} s after \`compose stop\` began (it returned after ${stopSeconds} s)`,
        );
        // Well inside the TTL: the lease was revoked on SIGTERM, not left to expire.
        expect(goneSeconds).toBeLessThan(registryTtlSeconds(running) / 2);
        const numberApis = running.states.filter((s) => s.service === 'number-api');
        for (const container of numberApis) {
          const logs = await run('docker', ['logs', '--tail', '20', container.id], { timeoutMs: 30_000 });
          expect(logs.stdout, `${container.name} logs its deregistration`).toContain('"msg":"deregistered"');
        }

        // With no instance registered, book-api says which dependency is missing.
        const refused = await running.createBook();
        expect(refused.status, JSON.stringify(refused)).toBe(503);
        expect(refused.detail).toMatch(/number-api/);

        const t1 = Date.now();
        const started = await running.stack.exec(['start', 'number-api'], 60_000);
        expect(started.code, started.stderr).toBe(0);
        const startSeconds = seconds(Date.now() - t1);
        await waitFor(
          'number-api registered again',
          async () =>
            (await registry.instancesOf('number-api')).length === before.length ? true : undefined,
          60_000,
          100,
        );
        const backSeconds = seconds(Date.now() - t1);
        const refusals: string[] = [];
        const works = await waitFor(
          'a book create working again',
          async () => {
            const created = await running.createBook();
            if (created.status === 201) return created;
            refusals.push(`${created.status} ${created.detail ?? ''}`.trim());
            return undefined;
          },
          30_000,
          100,
        );
        const worksSeconds = seconds(Date.now() - t1);
        console.log(
          `number-api: \`compose start\` returned after ${startSeconds} s; registered again ${backSeconds} s and ` +
            `a create works ${worksSeconds} s after it began (ISBN ${works.value.isbn}; ${refusals.length} refused ` +
            `before: ${[...new Set(refusals)].join(' | ') || '-'})`,
        );
        await running.waitHealthy(running.states.length, 2 * 60_000);
        running.report.deregistration = {
          keysGoneAfterStopSeconds: goneSeconds,
          composeStopSeconds: stopSeconds,
          composeStartSeconds: startSeconds,
          registeredAgainAfterStartSeconds: backSeconds,
          createWorksAfterStartSeconds: worksSeconds,
        };
      }, 240_000);
    });
  },
};

export default checks;
