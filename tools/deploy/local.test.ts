/**
 * The deployment layer's real run: deployment/pi.yml against deployment/inventory/local.yml, this machine's Docker
 * daemon as a one-node swarm, exactly as an operator runs it; then what a speaker does with it.
 *
 *   CI=true npx vitest run tools/deploy/local.test.ts        (from the repository root, as root or a docker user)
 *
 * 1. The play deploys the newest stage (its registry, etcd and stack) and passes its own smoke checks.
 * 2. A second run changes nothing (PLAY RECAP changed=0).
 * 3. A third run, after a config like one an earlier deployment left, removes it: the stack keeps the configs it names.
 * 4. The speaker's smoke checks pass against the swarm-deployed stack.
 * 5. `docker service scale pie_number-api=3`: creates are spread over the three tasks.
 * 6. teardown.yml removes the stage and leaves no service of it behind; `-e scope=cluster` removes the rest.
 * Upstream images the Pis would pull (etcd, registry:2) are stand-ins here, built and announced by the harness.
 * The whole output of each run is kept in .test-output/deployment/.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { waitPortsFree } from '../containers/compose.ts';
import { ensureDaemon, outputDir, run } from '../containers/docker.ts';
import { bookCreator, type Published, smoke } from '../containers/smoke.ts';
import { gatewayPort, hasGateway } from '../lib/ports.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';
import { type PlaybookRun, failures, runPlaybook, total } from './ansible.ts';
import { provideUpstreamImages } from './upstream.ts';

const root = repoRoot();
const ci = process.env.CI === 'true';
const stage = process.env.STAGE ?? existingStages(root).at(-1) ?? 'demo03';
/** Where a person opens the store: the gateway's port from the stage that has one. */
const storefrontPort = hasGateway(path.join(root, stage)) ? gatewayPort : 8080;
const stackFile = path.join(root, 'deployment', 'stacks', `${stage}.yml`);
const logDir = path.join(outputDir, 'deployment');
const inventory = 'deployment/inventory/local.yml';
const minutes = (n: number) => n * 60_000;

interface StackService {
  ports?: { published: number }[];
  environment?: Record<string, string>;
}
const stack = parseYaml(readFileSync(stackFile, 'utf8')) as {
  services: Record<string, StackService>;
  configs?: Record<string, unknown>;
};
const published: Published = Object.fromEntries(
  Object.entries(stack.services).flatMap(([name, s]) => (s.ports?.[0] ? [[name, s.ports[0].published]] : [])),
);
const usesEtcd = Object.values(stack.services).some((s) => s.environment?.ETCD_ENDPOINTS !== undefined);

const log = (line: string) => console.log(`[deployment] ${line}`);
const docker = (args: string[]) => run('docker', args, { timeoutMs: 120_000 });
const play = (
  playbook: string,
  name: string,
  extraVars: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
) =>
  runPlaybook(playbook, {
    inventory,
    env,
    extraVars: { stage, ...(leftOut.length > 0 && { pie_left_out: leftOut }), ...extraVars },
    logFile: path.join(logDir, `${name}.log`),
    progress: (line) => {
      if (/^PLAY \[|^fatal|^failed/.test(line)) log(line);
    },
  });
const recapLine = (r: PlaybookRun) => r.recapText.split('\n').slice(1).join('\n');
const stageServices = async () =>
  (await docker(['service', 'ls', '--format', '{{.Name}}'])).stdout
    .split('\n')
    .filter((name) => name.startsWith('pie_'));

let ready: { ok: true } | { ok: false; reason: string } = { ok: false, reason: 'not prepared' };
/** Services of the stack with no image on this machine: the play leaves them out. */
let leftOut: string[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  const daemon = await ensureDaemon(log);
  if (!daemon.ok) {
    ready = { ok: false, reason: daemon.reason };
    return;
  }
  const state = (await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
  if (state === 'active') {
    ready = {
      ok: false,
      reason:
        'this Docker daemon is in a swarm already; the test forms and leaves its own (docker swarm leave)',
    };
    return;
  }
  // What the Pis pull from Docker Hub and quay.io: stand-ins here where the upstream images cannot be pulled.
  const upstream = await provideUpstreamImages(stackFile, log);
  if (!upstream.ok) {
    ready = { ok: false, reason: upstream.reason };
    return;
  }
  leftOut = upstream.leftOut;
  await waitPortsFree([...Object.values(published).filter((p) => p !== undefined), 5000], 60_000);
  ready = { ok: true };
}, minutes(10));

afterAll(async () => {
  // Whatever happened above: leave no stack, registry, etcd or swarm behind.
  if (!ready.ok) return;
  const r = await play('deployment/teardown.yml', 'teardown-after-all', { scope: 'cluster' });
  if (r.code !== 0) {
    // The play could not clean up: remove by hand what it makes on this machine.
    console.error(`teardown -e scope=cluster failed, removing by hand:\n${failures(r)}`);
    await docker(['swarm', 'leave', '--force']);
    await docker(['rm', '--force', 'pie-registry']);
    await docker(['volume', 'rm', '--force', 'pie-registry', 'pie-etcd_etcd-data']);
    rmSync('/opt/pie', { recursive: true, force: true });
    rmSync('/etc/docker/certs.d/127.0.0.1:5000', { recursive: true, force: true });
  }
  console.log(`[deployment] local run timings (s): ${JSON.stringify(timings)}`);
}, minutes(5));

describe(
  `deployment/pi.yml on this machine as a one-node cluster (${stage})`,
  { timeout: minutes(15) },
  () => {
    const needReady = () => {
      if (!ready.ok) {
        if (ci) throw new Error(`CI=true: cannot run the deployment: ${ready.reason}`);
        return false;
      }
      return true;
    };

    it('deploys the stage, and its own smoke checks pass', async (context) => {
      if (!needReady()) return context.skip();
      const first = await play('deployment/pi.yml', 'first-run');
      timings.firstRun = first.seconds;
      console.log(`[deployment] first run, ${first.seconds} s:\n${first.recapText}`);
      expect(first.code, failures(first)).toBe(0);
      expect(total(first.recap, 'failed')).toBe(0);
      expect(first.output).toMatch(/stock of book \d+ went from (\d+) to \d+/);
      expect(first.output).toContain(
        `${stage} runs on the cluster: the storefront is at http://127.0.0.1:${storefrontPort}`,
      );
    });

    it('a second run changes nothing', async (context) => {
      if (!needReady()) return context.skip();
      const second = await play('deployment/pi.yml', 'second-run');
      timings.secondRun = second.seconds;
      console.log(`[deployment] second run, ${second.seconds} s:\n${second.recapText}`);
      expect(second.code, failures(second)).toBe(0);
      expect(total(second.recap, 'changed'), recapLine(second)).toBe(0);
    });

    it('a redeploy removes the configs an earlier deployment left behind, and even -vvv shows no token', async (context) => {
      if (!needReady()) return context.skip();
      // What a deployment before a change to an infra file leaves: a config of the stack named after the old content.
      const stale = 'pie_alerts-yml-0000000000';
      const file = path.join(outputDir, 'stale-config.yml');
      writeFileSync(file, 'groups: []\n');
      const made = await docker([
        'config',
        'create',
        '--label',
        'com.docker.stack.namespace=pie',
        stale,
        file,
      ]);
      expect(made.code, made.stderr).toBe(0);
      // At -vvv Ansible prints every task's arguments and result: the smoke checks' tokens must not be among them.
      const third = await play('deployment/pi.yml', 'third-run', {}, { ANSIBLE_VERBOSITY: '3' });
      timings.thirdRun = third.seconds;
      expect(third.code, failures(third)).toBe(0);
      expect(third.output).toContain('ESTABLISH LOCAL CONNECTION'); // -vvv took effect
      expect(third.output).not.toMatch(/eyJ[\w-]{10,}\.eyJ/); // a JWT: header and payload, base64url of '{"'
      const configs = (
        await docker([
          'config',
          'ls',
          '--filter',
          'label=com.docker.stack.namespace=pie',
          '--format',
          '{{.Name}}',
        ])
      ).stdout
        .split('\n')
        .filter(Boolean);
      expect(configs.sort()).toEqual(
        Object.keys(stack.configs ?? {})
          .map((name) => `pie_${name}`)
          .sort(),
      );
    });

    it("the speaker's smoke checks pass against the swarm-deployed stack", async (context) => {
      if (!needReady()) return context.skip();
      const result = await smoke(published, '127.0.0.1', (line) => log(line));
      expect(result.checks.length).toBeGreaterThan(5);
    });

    it.skipIf(!usesEtcd)(
      'number-api scaled to 3: creates are spread over the three tasks',
      async (context) => {
        if (!needReady()) return context.skip();
        const started = Date.now();
        const scaled = await docker(['service', 'scale', '--detach', 'pie_number-api=3']);
        expect(scaled.code, scaled.stderr).toBe(0);
        // The three tasks' containers; an instance is named after its container's hostname (its short id).
        let tasks: string[] = [];
        for (let i = 0; i < 90; i += 1) {
          const ps = await docker([
            'ps',
            '--filter',
            'label=com.docker.swarm.service.name=pie_number-api',
            '--filter',
            'health=healthy',
            '--format',
            '{{.ID}}',
          ]);
          tasks = ps.stdout.split('\n').filter(Boolean);
          if (tasks.length === 3) break;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        expect(tasks).toHaveLength(3);
        const servedBy = new Map<string, number>();
        const create = bookCreator('127.0.0.1', {
          gateway: published.gateway,
          bookApi: published['book-api'] ?? 8081,
        });
        for (let i = 0; i < 120 && servedBy.size < 3; i += 1) {
          const created = await create(`Spread ${i}`);
          expect(created.status, created.detail).toBe(201);
          // X-Upstream-Served-By: number-api/<instance id>, the instance id being <container hostname>:<port>.
          const instance = created.upstream?.replace(/^[^/]*\//, '').split(':')[0];
          if (instance !== undefined) servedBy.set(instance, (servedBy.get(instance) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        timings.spreadAfterScale = Number(((Date.now() - started) / 1000).toFixed(1));
        log(`creates by number-api task: ${JSON.stringify(Object.fromEntries(servedBy))}`);
        expect([...servedBy.keys()].sort()).toEqual([...tasks].sort());
      },
    );

    it('teardown.yml removes the stage and leaves no service of it behind', async (context) => {
      if (!needReady()) return context.skip();
      const down = await play('deployment/teardown.yml', 'teardown');
      timings.teardown = down.seconds;
      expect(down.code, failures(down)).toBe(0);
      expect(await stageServices()).toEqual([]);
      const left = await docker(['ps', '--filter', 'label=com.docker.stack.namespace=pie', '-q']);
      expect(left.stdout.trim()).toBe('');
    });

    it('teardown.yml -e scope=cluster also removes etcd, the registry and the swarm', async (context) => {
      if (!needReady()) return context.skip();
      const down = await play('deployment/teardown.yml', 'teardown-cluster', { scope: 'cluster' });
      expect(down.code, failures(down)).toBe(0);
      expect((await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim()).toBe(
        'inactive',
      );
      expect((await docker(['ps', '-a', '--filter', 'name=pie-registry', '-q'])).stdout.trim()).toBe('');
      const volumes = (await docker(['volume', 'ls', '--quiet'])).stdout.split('\n');
      expect(volumes.filter((v) => v === 'pie-registry' || v.startsWith('pie-etcd_'))).toEqual([]);
      expect(existsSync('/opt/pie')).toBe(false);
      expect(existsSync('/etc/docker/certs.d/127.0.0.1:5000')).toBe(false);
    });
  },
);
