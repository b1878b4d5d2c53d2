import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { defaultPorts, serviceNames } from '../../src/lib/config.js';
import { registeredInstances } from '../support/etcd.js';
import { spawnCompiled, stageDir, waitFor } from '../support/processes.js';

const etcd = 'http://127.0.0.1:2379';

/** `npm start` uses the fixed ports (and etcd's 2379 and 2380); these tests need them free. */
describe('the local runner (npm start)', () => {
  it('starts every service with prefixed logs, reports them ready, and stops them all on Ctrl-C', async () => {
    const runner = spawnCompiled('dist/start-all.js');
    try {
      await waitFor(
        'all services ready',
        () => runner.output().includes('services ready in'),
        30_000,
        runner.output,
      );
      for (const name of serviceNames) {
        expect(runner.output()).toMatch(new RegExp(`^${name}\\s*\\| \\{.*"msg":"listening"`, 'm'));
        const response = await fetch(`http://127.0.0.1:${defaultPorts[name]}/health/ready`);
        expect(response.status).toBe(200);
        expect(await registeredInstances(etcd, name)).toEqual([expect.stringMatching(/:\d+$/)]);
      }
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

      runner.child.kill('SIGINT');
      expect(await runner.exited).toBe(0);
      for (const name of serviceNames) {
        expect(runner.output()).toMatch(new RegExp(`^${name}\\s*\\| \\{.*"msg":"stopped"`, 'm'));
        await expect(fetch(`http://127.0.0.1:${defaultPorts[name]}/health/live`)).rejects.toThrow();
      }
      await expect(fetch(`${etcd}/health`)).rejects.toThrow();
    } finally {
      runner.killAll();
    }
  });

  it('with --scale number-api=3 runs three number-api instances, all registered, all called', async () => {
    const runner = spawnCompiled('dist/start-all.js', {}, ['--scale', 'number-api=3']);
    try {
      await waitFor(
        'all services ready',
        () => runner.output().includes('all 9 services ready in'),
        30_000,
        runner.output,
      );
      expect(runner.output()).toMatch(/^number-api#3\s*\| \{.*"msg":"listening"/m);
      expect(await registeredInstances(etcd, 'number-api')).toHaveLength(3);
      const answeredBy = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const created = await fetch(`http://127.0.0.1:${defaultPorts['book-api']}/api/books`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title: 'Scaled', author: 'A', year: 2000, price: 1 }),
        });
        answeredBy.add(created.headers.get('x-upstream-served-by') ?? '');
      }
      expect(answeredBy.size).toBe(3);
      runner.child.kill('SIGINT');
      expect(await runner.exited).toBe(0);
    } finally {
      runner.killAll();
    }
  });

  it('refuses a --scale it cannot do, with a sentence', async () => {
    const runner = spawnCompiled('dist/start-all.js', {}, ['--scale', 'payment-api=2']);
    expect(await runner.exited).toBe(2);
    expect(runner.output()).toContain('--scale needs <service>=<1-9>');
  });

  it('without etcd installed, says how to install it and starts nothing', async () => {
    const runner = spawnCompiled('dist/start-all.js', { PATH: '/nonexistent' });
    expect(await runner.exited).toBe(1);
    expect(runner.output()).toContain('sudo apt-get install etcd-server');
    expect(runner.output()).toContain('brew install etcd');
    expect(runner.output()).toContain('docker compose up --build');
  });

  it('starts nothing and names the service when one of its ports is busy', async () => {
    const blocker = createServer().listen(defaultPorts['inventory-api']);
    await new Promise((r) => blocker.once('listening', r));
    try {
      const runner = spawnCompiled('dist/start-all.js');
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
