import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardAgainstOrphan } from './etcd.js';
import { localPrometheusUrl } from './prometheus.js';
import { waitUntil } from './wait.js';

/**
 * `npm start`'s Grafana, when one is installed: the stage's provisioning (infra/grafana/provisioning: the
 * Prometheus datasource and the dashboards, read in place) and a throw-away data directory, anonymous viewers
 * allowed, stopped with the runner as etcd is. Grafana ships as `grafana server` (10 and later) or `grafana-server`, and needs its home folder (its
 * web assets); without either the runner points to Prometheus's own graph page and the Docker way instead.
 */

export const localGrafanaPort = 3000;
export const localGrafanaUrl = `http://localhost:${localGrafanaPort}`;
const infra = fileURLToPath(new URL('../../infra/grafana/', import.meta.url));

/** Where packages put Grafana's home: Debian/Ubuntu (grafana.com's package), Homebrew on Apple silicon and Intel. */
const homes = [
  '/usr/share/grafana',
  '/opt/homebrew/opt/grafana/share/grafana',
  '/usr/local/opt/grafana/share/grafana',
];

export interface LocalGrafana {
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** The command that runs Grafana here, and its home folder; undefined when Grafana is not installed. */
export function findGrafana(): { command: string; args: string[]; home: string } | undefined {
  const home = [process.env.GRAFANA_HOME, ...homes].find((dir) => dir !== undefined && existsSync(dir));
  if (home === undefined) return undefined;
  if (spawnSync('grafana', ['--version'], { stdio: 'ignore' }).status === 0)
    return { command: 'grafana', args: ['server', `--homepath=${home}`], home };
  if (spawnSync('grafana-server', ['-v'], { stdio: 'ignore' }).status === 0)
    return { command: 'grafana-server', args: [`--homepath=${home}`], home };
  return undefined;
}

export const withoutGrafana = [
  'Grafana is not installed: the dashboards are in the Docker way (docker compose up --build, then',
  `${localGrafanaUrl}); Prometheus's own graph page is at ${localPrometheusUrl}/graph.`,
].join(' ');

export async function startLocalGrafana(
  grafana: { command: string; args: string[] },
  timeoutMs = 30_000,
): Promise<LocalGrafana> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pie-grafana-'));
  const child = spawn(grafana.command, grafana.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GF_PATHS_DATA: dataDir,
      GF_PATHS_LOGS: join(dataDir, 'log'),
      GF_PATHS_PLUGINS: join(dataDir, 'plugins'),
      GF_PATHS_PROVISIONING: join(infra, 'provisioning'),
      GF_SERVER_HTTP_ADDR: '127.0.0.1',
      GF_SERVER_HTTP_PORT: String(localGrafanaPort),
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: join(infra, 'dashboards', 'red.json'),
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_LOG_LEVEL: 'warn',
      PIE_PROMETHEUS_URL: localPrometheusUrl,
      PIE_DASHBOARDS: join(infra, 'dashboards'),
    },
  });
  const guard = guardAgainstOrphan(child, 'grafana', dataDir);
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
    fetch(`http://127.0.0.1:${localGrafanaPort}/api/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  if ((await waitUntil(ready, timeoutMs, 200)) && child.exitCode === null) return { child, stop };
  await stop();
  throw new Error(`Grafana was not ready at ${localGrafanaUrl} within ${timeoutMs / 1000} s`);
}
