import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardAgainstOrphan } from './etcd.js';
import { waitUntil } from './wait.js';

/**
 * `npm start`'s own Prometheus: from the PATH, with the stage's configuration (infra/prometheus/prometheus.yml:
 * it finds every instance through the web service's /registry/targets) and a throw-away data directory. It is
 * stopped with the services, and a small shell stops it when the runner is gone however it ended, as for etcd.
 * Without it the store runs as before; only the monitoring is missing, and the runner says so.
 */

export const localPrometheusPort = 9090;
export const localPrometheusUrl = `http://localhost:${localPrometheusPort}`;
const config = fileURLToPath(new URL('../../infra/prometheus/prometheus.yml', import.meta.url));

export interface LocalPrometheus {
  child: ChildProcess;
  stop: () => Promise<void>;
}

export const howToInstallPrometheus = [
  'Prometheus is not installed: the stage runs without its monitoring. To get it:',
  '  Debian/Ubuntu:  sudo apt-get install prometheus   (then: sudo systemctl disable --now prometheus)',
  '  macOS:          brew install prometheus',
  'or run the stage with Docker instead: docker compose up --build',
].join('\n');

export function prometheusInstalled(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startLocalPrometheus(timeoutMs = 15_000): Promise<LocalPrometheus> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pie-prometheus-'));
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dataDir}`,
      '--storage.tsdb.retention.time=2h',
      `--web.listen-address=127.0.0.1:${localPrometheusPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const guard = guardAgainstOrphan(child, 'prometheus', dataDir);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      guard.kill('SIGKILL');
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const ready = () =>
    child.exitCode !== null ||
    fetch(`http://127.0.0.1:${localPrometheusPort}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  if ((await waitUntil(ready, timeoutMs, 100)) && child.exitCode === null) return { child, stop };
  await stop();
  throw new Error(`Prometheus was not ready at ${localPrometheusUrl} within ${timeoutMs / 1000} s`);
}
