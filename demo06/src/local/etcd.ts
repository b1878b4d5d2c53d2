import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './wait.js';

/**
 * `npm start`'s own etcd: one member from the PATH, with a throw-away data directory, on the port of the first
 * registry endpoint (its peer port is the next one). Stopping it deletes its data: a fresh registry each run.
 *
 * It runs in its own process group, so that Ctrl-C in the terminal (SIGINT to the whole foreground group)
 * does not stop it before the services have deregistered; the runner stops it last. A small shell watches
 * the runner through a pipe and stops etcd when the pipe closes, however the runner ended (even SIGKILL).
 */

export interface LocalEtcd {
  child: ChildProcess;
  stop: () => Promise<void>;
}

export const howToInstallEtcd = [
  'etcd is not installed, and npm start needs it as the service registry. Install it:',
  '  Debian/Ubuntu:  sudo apt-get install etcd-server',
  '  macOS:          brew install etcd',
  'or run the stage with Docker instead: docker compose up --build',
].join('\n');

export function etcdInstalled(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The client and peer ports `npm start` needs free. */
export function localEtcdPorts(endpoint: string): [number, number] {
  const client = Number(new URL(endpoint).port || 2379);
  return [client, client + 1];
}

/** Whether the etcd at `clientUrl` answers that it is healthy. */
export const etcdHealthy = (clientUrl: string): Promise<boolean> =>
  fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) })
    .then((r) => r.json() as Promise<{ health?: string }>)
    .then((body) => body.health === 'true')
    .catch(() => false);

/** Waits for its stdin to close (the runner is gone), then stops the program ($1) and removes its data ($2). */
const guardScript =
  'read _; kill -TERM "$1" 2>/dev/null; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; rm -rf "$2"';

/**
 * A small shell that stops `child` and removes `dataDir` once the runner is gone, however it ended (even
 * SIGKILL): it waits on a pipe from the runner, which closes when the runner does. Kill it once `child` exits.
 */
export function guardAgainstOrphan(child: ChildProcess, name: string, dataDir: string): ChildProcess {
  const guard = spawn('sh', ['-c', guardScript, `${name}-guard`, String(child.pid), dataDir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  guard.unref();
  (guard.stdin as unknown as { unref(): void }).unref();
  return guard;
}

/** `onExit` hears, in one line, that etcd exited after it was up, when nobody stopped it. */
export async function startLocalEtcd(
  endpoint: string,
  onExit: (line: string) => void = () => {},
  timeoutMs = 15_000,
): Promise<LocalEtcd> {
  const [clientPort, peerPort] = localEtcdPorts(endpoint);
  const dataDir = mkdtempSync(join(tmpdir(), 'pie-etcd-'));
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name=local',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=local=${peer}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const guard = guardAgainstOrphan(child, 'etcd', dataDir);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  /** Whether its exit is news: it was up, and nobody stopped it. */
  let watched = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      guard.kill('SIGKILL');
      process.removeListener('exit', killOnExit);
      if (watched)
        onExit(
          `etcd exited (${signal ?? `code ${code}`}): the services keep the instances they knew, but nothing ` +
            'can register or be found anew; Ctrl-C and npm start again to get a registry back',
        );
      resolve();
    }),
  );
  const stop = async () => {
    watched = false;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const upOrExited = async () => child.exitCode !== null || (await etcdHealthy(client));
  if ((await waitUntil(upOrExited, timeoutMs, 100)) && child.exitCode === null) {
    watched = true;
    return { child, stop };
  }
  await stop();
  throw new Error(`etcd did not become healthy at ${client} within ${timeoutMs / 1000} s`);
}
