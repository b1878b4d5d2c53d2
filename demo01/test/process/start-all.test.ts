import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { defaultPorts, serviceNames } from '../../src/lib/config.js';
import { spawnCompiled, stageDir, waitFor } from '../support/processes.js';

/** `npm start` uses the fixed ports; these tests need them free. */
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
      expect((await fetch(`http://127.0.0.1:${defaultPorts['book-api']}/health/live`)).status).toBe(200);

      // Ctrl-C in a terminal: SIGINT to the whole process group, the runner and every service at once.
      process.kill(-(runner.child.pid ?? 0), 'SIGINT');
      expect(await runner.exited).toBe(0);
      for (const name of serviceNames) {
        expect(runner.output()).toMatch(new RegExp(`^${name}\\s*\\| info  stopped$`, 'm'));
        await expect(fetch(`http://127.0.0.1:${defaultPorts[name]}/health/live`)).rejects.toThrow();
      }
    } finally {
      runner.killAll();
    }
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
