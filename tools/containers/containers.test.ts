/**
 * The containers layer: one stage (env STAGE, default demo01) as a person runs it with Docker.
 *
 *   CI=true npx vitest run tools/containers/containers.test.ts          (from the repository root)
 *   STAGE=demo02 PIE_START_DOCKER=1 npx vitest run tools/containers/    (as root: may start dockerd)
 *
 * It makes sure a Docker daemon answers (starting one only where allowed), that the images the stage pulls
 * are here (building loudly announced stand-ins where they cannot be pulled), brings the stage up with its
 * compose file, runs the speaker's smoke checks against the ports the compose file publishes, checks that every
 * container runs as a non-root user with a memory limit, records image sizes and timings in
 * .test-output/containers-<stage>.json, and always takes the stack down.
 *
 * What a stage adds is checked by the stage's own `test/containers/*.ts` (see stage-checks.ts), run after these
 * checks against the same stack, which runs scaled as they ask (`docker compose up --scale number-api=3`).
 *
 * Without a daemon the layer is skipped with the reason, except under CI=true, where it fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type Service, servicePorts } from '../lib/ports.ts';
import { repoRoot } from '../stage/stages.ts';
import {
  ComposeStack,
  type ContainerState,
  composeServices,
  findCompose,
  oneShotServices,
  type PublishedPort,
  publishedByService,
  publishedPorts,
  waitPortsFree,
} from './compose.ts';
import { ensureDaemon, findBuilder, imageSize, mib, outputDir, run } from './docker.ts';
import { StackEtcd } from './registry.ts';
import { type BookCreate, bookCreator, type Published, smoke } from './smoke.ts';
import { type RunningStack, stageChecks } from './stage-checks.ts';
import { composeFileOf, ensureImages, type ImagesReport } from './standins.ts';

const stage = process.env.STAGE ?? 'demo01';
const root = repoRoot();
const stageDir = path.resolve(root, stage);
const ci = process.env.CI === 'true';
const minutes = (n: number) => n * 60_000;
const seconds = (ms: number) => Number((ms / 1000).toFixed(1));

// What the stage is made of, read from its own files.
const composeFile = composeFileOf(stageDir);
const declared = composeServices(composeFile);
/** The host port each published service is reached at (the one forwarding to its contract port). */
const hostPorts = (byService: Record<string, PublishedPort[]>): Published =>
  Object.fromEntries(
    Object.entries(byService).map(([service, list]) => [
      service,
      (list.find((p) => p.target === servicePorts[service as Service]) ?? list[0])?.published,
    ]),
  );
let published: Published = hostPorts(publishedByService(composeFile));
/**
 * Where other runs hold the stage's ports (a shared machine), the stack runs from a copy of its compose file with
 * the host ports this much higher, and says so: PIE_CONTAINERS_PORT_OFFSET, else 10000 when they stay taken.
 */
const portOffset = Number(process.env.PIE_CONTAINERS_PORT_OFFSET ?? 0);
const fallbackOffset = 10_000;
/** The stage's own checks, and the scale they ask the stack to run at. */
const ownChecks = await stageChecks(stageDir);
const scale: Record<string, number> = Object.assign({}, ...ownChecks.map(({ checks }) => checks.scale ?? {}));

const daemon = await ensureDaemon();
if (!daemon.ok) {
  console.warn(`containers layer ${ci ? 'FAILS (CI=true)' : 'SKIPPED'}: ${daemon.reason}`);
}

describe.skipIf(!daemon.ok && !ci)(`containers: ${stage} with docker compose`, () => {
  let stack: ComposeStack | undefined;
  let states: ContainerState[] = [];
  let images: ImagesReport | undefined;
  let failed = false;
  const report: Record<string, unknown> = { stage, started: new Date().toISOString() };

  beforeAll(async () => {
    try {
      if (!daemon.ok) throw new Error(`CI=true and no Docker daemon: ${daemon.reason}`);
      report.daemon = daemon;
      const builder = await findBuilder();
      report.builder = builder.note;

      let t = Date.now();
      images = await ensureImages(stageDir);
      report.images = images;
      report.ensureImagesSeconds = seconds(Date.now() - t);

      const needed = images.missing.filter((m) => m.usedBy.some((u) => !u.startsWith('service ')));
      if (needed.length > 0) {
        throw new Error(
          `cannot build the stage's image without ${needed.map((m) => `${m.image} (${m.reason})`).join(', ')}`,
        );
      }
      const compose = await findCompose(builder.env);
      if (compose === undefined)
        throw new Error('neither `docker compose` nor `docker-compose` is installed');
      stack = new ComposeStack({ stageDir, compose });
      report.compose = [compose.cmd, ...compose.args, compose.version].join(' ');

      if (portOffset !== 0) stack.shiftPorts(portOffset, 'PIE_CONTAINERS_PORT_OFFSET');

      // Services whose upstream image can be neither pulled nor stood in for (Grafana, Zipkin) are left out.
      const leftOut = new Set(images.missing.flatMap((m) => m.usedBy.map((u) => u.replace(/^service /, ''))));
      const config = await stack.exec(['config', '--services'], 60_000);
      const services = config.stdout.split('\n').filter((s) => s.trim() !== '' && !leftOut.has(s.trim()));
      if (leftOut.size > 0) console.warn(`LEFT OUT (no image): ${[...leftOut].join(', ')}`);

      const only = leftOut.size > 0 ? services : [];
      t = Date.now();
      await stack.build(only);
      report.buildSeconds = seconds(Date.now() - t);
      // Another run of a stage (local processes, or its containers) may hold the ports: wait a little, then
      // shift them. Checked right before `up`, and once more if `up` still finds one taken.
      const freePorts = async () => {
        const busy = await waitPortsFree(publishedPorts(stack!.file), 30_000);
        if (busy.length === 0) return;
        if (stack!.portOffset !== 0) {
          throw new Error(
            `ports ${busy.join(', ')} on 127.0.0.1 are taken (is the stage already up? \`cd ${stage} && docker compose down\`)`,
          );
        }
        stack!.shiftPorts(fallbackOffset, `ports ${busy.join(', ')} on 127.0.0.1 are taken by another run`);
        await freePorts();
      };
      await freePorts();
      t = Date.now();
      try {
        await stack.up(only, scale); // `up --build` as a person runs it: the build is cached by now
      } catch (error) {
        if (!/address already in use|port is already allocated/.test((error as Error).message)) throw error;
        await stack.down();
        if (stack.portOffset === 0)
          stack.shiftPorts(fallbackOffset, 'a port was taken while the stack started');
        await freePorts();
        t = Date.now();
        await stack.up(only, scale);
      }
      report.upSeconds = seconds(Date.now() - t);
      published = hostPorts(stack.published());
      report.portOffset = stack.portOffset;
      if (Object.keys(scale).length > 0) report.scale = scale;
      const t2 = Date.now();
      const replicas = Object.values(scale).reduce((sum, n) => sum + n - 1, 0);
      states = await stack.waitHealthy(services.length + replicas, minutes(5));
      report.upToHealthySeconds = seconds(Date.now() - t);
      console.log(
        `${stage}: build ${report.buildSeconds} s; up ${report.upSeconds} s; every container healthy ` +
          `${seconds(Date.now() - t2)} s later (${report.upToHealthySeconds} s from up)`,
      );
    } catch (error) {
      failed = true;
      throw error;
    }
  }, minutes(40));

  afterAll(async () => {
    if (stack?.active) {
      if (failed) {
        console.log(`---- containers of ${stack.project} ----\n${await stack.describeStates()}`);
        console.log(
          `---- last 50 log lines of every service (${stack.project}) ----\n${await stack.logs(50)}`,
        );
      }
      await stack.down();
    }
    mkdirSync(outputDir, { recursive: true });
    const file = path.join(outputDir, `containers-${path.basename(stageDir)}.json`);
    writeFileSync(file, `${JSON.stringify({ ...report, failed }, null, 2)}\n`);
    console.log(`containers report: ${path.relative(root, file)}`);
  }, minutes(6));

  const markFailure = () =>
    onTestFailed(() => {
      failed = true;
    });

  it('passes the smoke checks a speaker does on stage', async () => {
    markFailure();
    const result = await smoke(published);
    report.smoke = result.checks;
    expect(result.checks.length).toBeGreaterThan(5);
  }, 120_000);

  it('runs every process of every container as a non-root user', async () => {
    markFailure();
    const users: Record<string, string> = {};
    for (const container of states) {
      const user = await run('docker', ['inspect', '--format', '{{.Config.User}}', container.id], {
        timeoutMs: 30_000,
      });
      users[container.service] = user.stdout.trim();
      expect(user.stdout.trim(), `${container.service}: image/compose USER`).not.toMatch(/^(|root|0)(:.*)?$/);
      // What really runs (docker top lists the container's processes with their uids, init included).
      const top = await run('docker', ['top', container.id, '-o', 'uid,pid,args'], { timeoutMs: 30_000 });
      expect(top.code, top.stderr).toBe(0);
      const uids = top.stdout
        .split('\n')
        .slice(1)
        .filter((l) => l.trim() !== '')
        .map((l) => l.trim().split(/\s+/)[0]);
      expect(uids.length, `${container.service}: processes`).toBeGreaterThan(0);
      for (const uid of uids)
        expect(uid, `${container.service}: a process runs as root\n${top.stdout}`).not.toBe('0');
    }
    // A one-shot service (the gateway's key maker) has exited by now: what it ran as is in its config.
    const oneShots = oneShotServices(composeFile);
    for (const container of ((await stack?.containers()) ?? []).filter((c) => oneShots.has(c.service))) {
      const user = await run('docker', ['inspect', '--format', '{{.Config.User}}', container.id], {
        timeoutMs: 30_000,
      });
      users[container.service] = user.stdout.trim();
      expect(user.stdout.trim(), `${container.service}: image/compose USER`).not.toMatch(/^(|root|0)(:.*)?$/);
    }
    report.users = users;
  }, 120_000);

  it('gives every container a memory limit', async () => {
    markFailure();
    const limits: Record<string, string> = {};
    for (const container of states) {
      const memory = await run('docker', ['inspect', '--format', '{{.HostConfig.Memory}}', container.id], {
        timeoutMs: 30_000,
      });
      const bytes = Number(memory.stdout.trim());
      limits[container.service] = mib(bytes);
      expect(bytes, `${container.service}: HostConfig.Memory`).toBeGreaterThan(0);
    }
    report.memoryLimits = limits;
    // What the services really use after the smoke checks: the numbers to size the limits by.
    const stats = await run(
      'docker',
      ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...states.map((s) => s.id)],
      { timeoutMs: 60_000 },
    );
    report.memoryUsage = stats.stdout.trim().split('\n');
    console.log(`memory in use:\n${stats.stdout}`);
  }, 120_000);

  it('records the size of every image the stage runs', async () => {
    markFailure();
    const sizes: Record<string, string> = {};
    for (const container of states) {
      const image = await run('docker', ['inspect', '--format', '{{.Config.Image}}', container.id], {
        timeoutMs: 30_000,
      });
      const name = image.stdout.trim();
      if (name in sizes) continue;
      const size = await imageSize(name);
      expect(size, `size of ${name}`).toBeGreaterThan(0);
      sizes[name] = mib(size ?? 0);
    }
    for (const s of images?.standIns ?? []) {
      delete sizes[s.image];
      sizes[`${s.image} (stand-in)`] = mib(s.sizeBytes ?? 0);
    }
    report.imageSizes = sizes;
    console.log(`image sizes: ${JSON.stringify(sizes)}`);
  }, 60_000);

  let creates = 0;
  let creator: ((title: string) => Promise<BookCreate>) | undefined;
  const running: RunningStack = {
    stage,
    get stack() {
      if (stack === undefined) throw new Error('the stack is not up');
      return stack;
    },
    get states() {
      return states;
    },
    get appContainers() {
      return states.filter((s) => s.service in servicePorts || s.service === 'gateway');
    },
    get published() {
      return published;
    },
    scale,
    declared,
    report,
    async etcd() {
      const container = states.find((s) => s.service === 'etcd');
      if (container === undefined) throw new Error('no etcd container in the stack');
      return new StackEtcd(container.id);
    },
    createBook() {
      creator ??= bookCreator('127.0.0.1', { gateway: published.gateway, bookApi: published['book-api'] });
      return creator(`Container Test ${++creates}`);
    },
    async waitHealthy(count, timeoutMs) {
      states = await running.stack.waitHealthy(count, timeoutMs);
      return states;
    },
    markFailure,
  };
  // Defined only where a stage has them, so that no test shows as skipped elsewhere.
  for (const { checks } of ownChecks) checks.define(running);
});
