/**
 * The Pis' image on this machine: demo03 built for linux/arm64 with deployment/build, run under qemu-user-static
 * (binfmt_misc) beside an etcd, answering as it would on a Pi.
 *
 *   CI=true npx vitest run tools/deploy/arm64.test.ts     (from the repository root)
 *
 * It checks that this machine runs arm64 containers (as root under CI=true, or with PIE_ARM64_SETUP=1, it does
 * the one-time setup itself: see tools/deploy/images.ts), makes sure of the base images (stand-ins, announced,
 * where the upstream ones cannot be pulled: node:24-alpine for linux/arm64 as pie-standin/linux-arm64/…), builds
 * the image with `deployment/build demo03 --platform linux/arm64 --load`, checks it is arm64, prints the Node
 * inside (arch and version), then runs etcd, number-api and book-api on a network of its own (no host port
 * published) and waits for book-api's /health/ready at its container address. It removes what it made.
 *
 * Without a daemon or without qemu/binfmt the test is skipped with the reason, except under CI=true: it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDaemon, run } from '../containers/docker.ts';
import { ensureImage, platformImageName } from '../containers/standins.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';
import { arm64Host, buildStage } from './images.ts';

const ci = process.env.CI === 'true';
const root = process.getuid?.() === 0;
const platform = 'linux/arm64';
const stage = process.env.STAGE ?? existingStages(repoRoot()).at(-1) ?? 'demo03';
const name = `pie-arm64-${process.pid}`;
const image = `pie-arm64/${stage}:${process.pid}`;
const etcdImage = 'quay.io/coreos/etcd:v3.5.21';
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const started = Date.now();

const daemon = await ensureDaemon();
const host = daemon.ok
  ? await arm64Host({ setup: root && (ci || process.env.PIE_ARM64_SETUP === '1') })
  : { ok: false, missing: [], done: [] };
const reason = !daemon.ok
  ? daemon.reason
  : `this machine cannot run linux/arm64 containers: ${host.missing.join('; ')}`;
if (!daemon.ok || !host.ok) console.warn(`arm64 test ${ci ? 'FAILS (CI=true)' : 'SKIPPED'}: ${reason}`);
for (const step of host.done) console.log(`arm64 setup done: ${step}`);

const docker = async (args: string[], timeoutMs = 120_000) => {
  const result = await run('docker', args, { timeoutMs });
  if (result.code !== 0)
    throw new Error(`docker ${args.join(' ')}: ${`${result.stderr}${result.stdout}`.trim()}`);
  return result.stdout.trim();
};

const containerIp = (container: string) =>
  docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);

describe.skipIf((!daemon.ok || !host.ok) && !ci)(`${stage} for ${platform} under emulation`, () => {
  const containers: string[] = [];
  let network: string | undefined;
  let built = false;
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    if (!daemon.ok || !host.ok) throw new Error(`CI=true: ${reason}`);
    let t = Date.now();
    for (const [ref, on] of [
      [etcdImage, undefined],
      ['node:24-alpine', undefined], // the build stage runs on this machine's platform
      ['node:24-alpine', platform],
    ] as const) {
      const outcome = await ensureImage(ref, { platform: on });
      if (outcome.kind === 'missing') throw new Error(`no ${outcome.name}: ${outcome.reason}`);
    }
    timings.baseImages = seconds(Date.now() - t);
    t = Date.now();
    const build = await buildStage([stage, '--platform', platform, '--load', '--tag', image]);
    built = true;
    if (build.code !== 0)
      throw new Error(
        `deployment/build failed (${build.code}): ${build.stderr.trim().split('\n').slice(-5).join('\n')}`,
      );
    timings.build = seconds(Date.now() - t);
  }, 1_800_000);

  afterAll(async () => {
    for (const container of containers) await run('docker', ['rm', '--force', '--volumes', container]);
    if (network !== undefined) await run('docker', ['network', 'rm', network]);
    if (built) await run('docker', ['image', 'rm', image]);
    timings.total = seconds(Date.now() - started);
    console.log(`arm64 test timings: ${JSON.stringify(timings)}`);
  }, 120_000);

  it('is an arm64 image on a stand-in or upstream arm64 base', async () => {
    const inspected = await docker(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', image]);
    expect(inspected).toBe(platform);
    console.log(`base for ${platform}: ${platformImageName('node:24-alpine', platform)}`);
  });

  it('runs arm64 Node inside (the boot line)', async () => {
    const t = Date.now();
    const boot = await docker(
      ['run', '--rm', '--platform', platform, image, 'node', '-p', "process.arch + ' ' + process.version"],
      120_000,
    );
    timings.bootLine = seconds(Date.now() - t);
    console.log(
      `arm64 boot line: ${boot} (run by qemu-user-static through binfmt_misc, in ${timings.bootLine})`,
    );
    expect(boot).toMatch(/^arm64 v\d+\.\d+\.\d+$/);
  }, 180_000);

  it('book-api is ready beside etcd on a network of its own, no host port published', async () => {
    network = name;
    await docker(['network', 'create', network]);
    const etcd = `${name}-etcd`;
    containers.push(etcd);
    await docker([
      'run',
      '--detach',
      '--name',
      etcd,
      '--network',
      network,
      '--user',
      '65534:65534',
      etcdImage,
      '/usr/local/bin/etcd',
      '--name=etcd',
      '--data-dir=/tmp/etcd',
      '--listen-client-urls=http://0.0.0.0:2379',
      `--advertise-client-urls=http://${etcd}:2379`,
    ]);
    const t = Date.now();
    for (const [service, port] of [
      ['number-api', 8084],
      ['book-api', 8081],
    ] as const) {
      const container = `${name}-${service}`;
      containers.push(container);
      await docker([
        'run',
        '--detach',
        '--name',
        container,
        '--network',
        network,
        '--platform',
        platform,
        '--init',
        '--env',
        `ETCD_ENDPOINTS=http://${etcd}:2379`,
        '--env',
        'ADVERTISE_HOST=auto',
        '--env',
        `PORT=${port}`,
        image,
        'node',
        `dist/services/${service}/main.js`,
      ]);
    }
    const url = `http://${await containerIp(`${name}-book-api`)}:8081/health/ready`;
    const deadline = Date.now() + 120_000;
    let last = 'no answer yet';
    let status = 0;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        status = response.status;
        last = `${status} ${await response.text()}`;
        if (status === 200) break;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    timings.ready = seconds(Date.now() - t);
    console.log(`book-api (arm64) ${url}: ${last} after ${timings.ready}`);
    if (status !== 200) {
      const logs = await run('docker', ['logs', '--tail', '20', `${name}-book-api`]);
      console.log(`book-api logs:\n${logs.stdout}${logs.stderr}`);
    }
    expect(status, last).toBe(200);
  }, 180_000);
});
