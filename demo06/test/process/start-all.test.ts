import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultPorts, serviceNames } from '../../src/lib/config.js';
import { portIsFree } from '../../src/local/ports.js';
import { through, tokenOf } from '../gateway/support.js';
import { registeredInstances } from '../support/etcd.js';
import { freePort, spawnCompiled, stageDir, waitFor } from '../support/processes.js';

const etcd = 'http://127.0.0.1:2379';

/** `npm start` uses the fixed ports (and etcd's 2379 and 2380); these tests need them free. */
describe('the local runner (npm start)', () => {
  it('starts every service with readable prefixed logs, reports them ready, and stops them all on Ctrl-C', async () => {
    const runner = spawnCompiled('dist/local/start-all.js');
    try {
      await waitFor(
        'all services ready',
        () => runner.output().includes('services ready in'),
        30_000,
        runner.output,
      );
      for (const name of serviceNames) {
        expect(runner.output()).toMatch(new RegExp(`^${name}\\s*\\| info  listening port=`, 'm'));
        const response = await fetch(`http://127.0.0.1:${defaultPorts[name]}/health/ready`);
        expect(response.status).toBe(200);
        expect(await registeredInstances(etcd, name)).toEqual([expect.stringMatching(/:\d+$/)]);
      }
      // One readable line per request: service, method, path, status, milliseconds.
      await fetch(`http://127.0.0.1:${defaultPorts['book-api']}/api/books?limit=1`);
      await waitFor(
        'the request line',
        () => /^book-api\s*\| GET \/api\/books\?limit=1 200 [\d.]+ ms$/m.test(runner.output()),
        5000,
        runner.output,
      );
      // One service stopped on purpose, as the lab does: the others keep running.
      spawnSync('pkill', ['-TERM', '-f', `${stageDir}/dist/services/number-api/main.js`]);
      await waitFor(
        'number-api to exit',
        () => runner.output().includes('number-api exited'),
        15_000,
        runner.output,
      );
      expect(runner.output()).toContain('the other services keep running');
      expect(await registeredInstances(etcd, 'number-api')).toEqual([]);
      expect((await fetch(`http://127.0.0.1:${defaultPorts['book-api']}/health/live`)).status).toBe(200);

      // Ctrl-C in a terminal: SIGINT to the whole process group, the runner and every service at once.
      process.kill(-(runner.child.pid ?? 0), 'SIGINT');
      expect(await runner.exited).toBe(0);
      // Services first, etcd last: every one of them could deregister.
      expect(runner.output()).not.toContain('could not deregister');
      for (const name of serviceNames) {
        expect(runner.output()).toMatch(new RegExp(`^${name}\\s*\\| info  stopped$`, 'm'));
        await expect(fetch(`http://127.0.0.1:${defaultPorts[name]}/health/live`)).rejects.toThrow();
      }
      await expect(fetch(`${etcd}/health`)).rejects.toThrow();
    } finally {
      runner.killAll();
    }
  });

  it('with --scale number-api=3 runs three number-api instances, each on its own port, each registered', async () => {
    const runner = spawnCompiled('dist/local/start-all.js', {}, ['--scale', 'number-api=3']);
    try {
      await waitFor(
        'all services ready',
        () => runner.output().includes('all 10 services ready in'),
        30_000,
        runner.output,
      );
      expect(runner.output()).toMatch(/^number-api#3\s*\| info {2}listening port=/m);
      // The ready list names each instance and where it listens: the first on 8084, the others where the OS said.
      const listed = [...runner.output().matchAll(/^ {2}(number-api(?:#\d)?)\s+http:\/\/localhost:(\d+)$/gm)];
      expect(listed.map((m) => m[1])).toEqual(['number-api', 'number-api#2', 'number-api#3']);
      const ports = listed.map((m) => Number(m[2]));
      expect(ports[0]).toBe(defaultPorts['number-api']);
      expect(new Set(ports).size).toBe(3);
      for (const port of ports)
        expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
      const registered = (await registeredInstances(etcd, 'number-api')).map((id) =>
        Number(id.split(':').pop()),
      );
      expect(registered.sort()).toEqual([...ports].sort());
      runner.child.kill('SIGINT');
      expect(await runner.exited).toBe(0);
    } finally {
      runner.killAll();
    }
  });

  it('with --scale gateway=2 runs two gateways that share a signing key made for the run, removed after it', async () => {
    const keyFolders = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('pie-gateway-key-')));
    const before = keyFolders();
    const runner = spawnCompiled('dist/local/start-all.js', {}, ['--scale', 'gateway=2']);
    try {
      await waitFor(
        'all services ready',
        () => runner.output().includes('all 9 services ready in'),
        30_000,
        runner.output,
      );
      expect(runner.output()).toMatch(/2 gateways share a demo signing key made for this run \(kid \w{16}\)/);
      const listed = [...runner.output().matchAll(/^ {2}(gateway(?:#\d)?)\s+http:\/\/localhost:(\d+)$/gm)];
      const [first, second] = listed.map((m) => `http://127.0.0.1:${m[2]}`);
      expect(listed.map((m) => m[1])).toEqual(['gateway', 'gateway#2']);
      // A token of one gateway is good at the other: a customer's cart, through the second.
      const token = await tokenOf(first ?? '', 'alice');
      expect((await through(second ?? '', 'POST', '/api/carts', { token })).status).toBe(201);
      expect((await registeredInstances(etcd, 'gateway')).length).toBe(2);
      runner.child.kill('SIGINT');
      expect(await runner.exited).toBe(0);
      expect([...keyFolders()].filter((f) => !before.has(f))).toEqual([]);
    } finally {
      runner.killAll();
    }
  });

  it('refuses a --scale it cannot do, with a sentence', async () => {
    const runner = spawnCompiled('dist/local/start-all.js', {}, ['--scale', 'payment-api=2']);
    expect(await runner.exited).toBe(2);
    expect(runner.output()).toContain('--scale needs <service>=<1-9>');
  });

  it('without etcd installed, says how to install it and starts nothing', async () => {
    const runner = spawnCompiled('dist/local/start-all.js', { PATH: '/nonexistent' });
    expect(await runner.exited).toBe(1);
    expect(runner.output()).toContain('sudo apt-get install etcd-server');
    expect(runner.output()).toContain('brew install etcd');
    expect(runner.output()).toContain('docker compose up --build');
  });

  it('starts nothing and names the service when one of its ports is busy', async () => {
    const blocker = createServer().listen(defaultPorts['inventory-api']);
    await new Promise((r) => blocker.once('listening', r));
    try {
      const runner = spawnCompiled('dist/local/start-all.js');
      expect(await runner.exited).toBe(1);
      expect(runner.output()).toContain('port 8085 (inventory-api) is already in use');
      expect(runner.output()).not.toContain('starting');
      for (const name of serviceNames.filter((n) => n !== 'inventory-api')) {
        await expect(fetch(`http://127.0.0.1:${defaultPorts[name]}/health/live`)).rejects.toThrow();
      }
    } finally {
      blocker.close();
    }
  });
});

/** A client port whose next port (etcd's peer port) is free too. */
async function etcdEndpoint(): Promise<string> {
  for (;;) {
    const port = await freePort();
    if (await portIsFree(port + 1, '127.0.0.1')) return `http://127.0.0.1:${port}`;
  }
}

/** Whether a process is still running (a zombie nobody has reaped yet counts as gone). */
function alive(pid: number): boolean {
  const ps = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const state = ps.stdout.trim();
  return state !== '' && !state.startsWith('Z');
}

/**
 * The runner's etcd and its stop order, on free ports: a small runner made of the same modules as `npm start`
 * (its etcd, its stop order, a real number-api), started in its own process group as a terminal does.
 */
function miniRunner(registry: string, servicePort?: number) {
  const dist = (file: string) => JSON.stringify(pathToFileURL(join(stageDir, 'dist', file)).href);
  const script = `
import { spawn } from 'node:child_process';
import { startLocalEtcd } from ${dist('local/etcd.js')};
import { stopInOrder } from ${dist('local/stop.js')};
const etcd = await startLocalEtcd(${JSON.stringify(registry)}, (line) => console.log(line));
console.log('etcd pid ' + etcd.child.pid);
const services = [];
if (${servicePort ?? 0}) {
  services.push(spawn(process.execPath, [new URL(${dist('services/number-api/main.js')}).pathname], {
    env: { ...process.env, PORT: '${servicePort}', HOST: '127.0.0.1', ADVERTISE_HOST: '127.0.0.1',
           ETCD_ENDPOINTS: ${JSON.stringify(registry)} },
    stdio: ['ignore', 'inherit', 'inherit'],
  }));
}
const stop = () => void stopInOrder(services, [etcd.stop]).then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
`;
  const dir = mkdtempSync(join(tmpdir(), 'pie-runner-test-'));
  writeFileSync(join(dir, 'runner.mjs'), script);
  const runner = spawnCompiled(join(dir, 'runner.mjs'));
  const etcdPid = async () => {
    await waitFor('etcd to start', () => /etcd pid \d+/.test(runner.output()), 20_000, runner.output);
    return Number(/etcd pid (\d+)/.exec(runner.output())?.[1]);
  };
  const cleanUp = () => {
    runner.killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  return { runner, etcdPid, cleanUp };
}

describe("the runner's etcd (free ports)", () => {
  it('runs in its own process group, and its death is said at once, in one line', async () => {
    const { runner, etcdPid, cleanUp } = miniRunner(await etcdEndpoint());
    try {
      const pid = await etcdPid();
      const groupOf = (p: number) =>
        spawnSync('ps', ['-o', 'pgid=', '-p', String(p)], { encoding: 'utf8' }).stdout.trim();
      expect(groupOf(pid)).not.toBe(groupOf(runner.child.pid ?? 0));
      process.kill(pid, 'SIGKILL');
      await waitFor(
        'the runner to say so',
        () => runner.output().includes('etcd exited'),
        5000,
        runner.output,
      );
      const said = runner
        .output()
        .split('\n')
        .filter((line) => line.includes('etcd'));
      expect(said).toEqual([
        `etcd pid ${pid}`,
        expect.stringMatching(/^etcd exited \(SIGKILL\): the services keep the instances they knew, but/),
      ]);
    } finally {
      cleanUp();
    }
  });

  it('on Ctrl-C (SIGINT to the whole group) stops the services first: each deregisters, then etcd stops', async () => {
    const registry = await etcdEndpoint();
    const { runner, etcdPid, cleanUp } = miniRunner(registry, await freePort());
    try {
      const pid = await etcdPid();
      await waitFor(
        'number-api to register',
        async () => (await registeredInstances(registry, 'number-api').catch(() => [])).length === 1,
        20_000,
        runner.output,
      );
      process.kill(-(runner.child.pid ?? 0), 'SIGINT');
      expect(await runner.exited).toBe(0);
      expect(runner.output()).toContain('"msg":"deregistered"');
      expect(runner.output()).not.toContain('could not deregister');
      expect(runner.output()).not.toContain('etcd exited');
      await waitFor('etcd to be gone', () => !alive(pid), 5000, runner.output);
    } finally {
      cleanUp();
    }
  });

  it('does not outlive the runner, however the runner ends (SIGKILL included)', async () => {
    const { runner, etcdPid, cleanUp } = miniRunner(await etcdEndpoint());
    try {
      const pid = await etcdPid();
      runner.killAll();
      await runner.exited;
      await waitFor('etcd to be stopped by its guard', () => !alive(pid), 10_000, runner.output);
    } finally {
      cleanUp();
    }
  });
});
