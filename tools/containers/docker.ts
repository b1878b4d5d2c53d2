/**
 * The Docker daemon and the docker client, as the container test layer needs them.
 *
 * - `run` runs one command with a time limit and collects its output (optionally echoing it live).
 * - `ensureDaemon` makes sure a daemon answers: it uses a running one, or, only when allowed (root and
 *   CI=true or PIE_START_DOCKER=1), starts `dockerd --storage-driver=vfs` detached, logging to
 *   .test-output/dockerd.log. Otherwise it says how to start one; the caller decides whether that skips
 *   the layer (on a laptop) or fails it (CI=true).
 * - `findBuilder` picks the client and environment that build with BuildKit: `docker` if it has the buildx
 *   plugin, else a docker client older than 23.0 (those still carry BuildKit for the daemon's own builder,
 *   Debian's docker.io 20.10 does), else the classic builder.
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stage/stages.ts';

export const outputDir = path.join(repoRoot(), '.test-output');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** echo every output line live, prefixed */
  echo?: string;
}

const running = new Set<number>();

/** Ends every command `run` started that is still running (for Ctrl-C: they run in their own process groups). */
export function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** Runs a command without a shell; never throws for a non-zero exit (look at `code`). */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so a time-out ends the command and its children
    });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const echo = (chunk: string) => {
      if (options.echo === undefined) return;
      for (const line of chunk.split('\n'))
        if (line.trim() !== '') process.stdout.write(`${options.echo} ${line}\n`);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      echo(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      echo(d);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      resolve({ code: 127, stdout, stderr: `${stderr}${error.message}`, ms: Date.now() - started, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      resolve({ code: code ?? 1, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** The lines of a failed command's output that say what went wrong (its error lines, else its last lines). */
export function errorLines(result: RunResult, max = 5): string {
  const lines = `${result.stderr}\n${result.stdout}`.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /error|fail|denied|not found|unhealthy/i.test(l));
  return (
    (errors.length > 0 ? errors.slice(0, max) : lines.slice(-max)).join('\n') || `exit code ${result.code}`
  );
}

/** The first line worth showing of a failed command's output. */
export function firstLine(result: RunResult): string {
  const text = `${result.stderr}\n${result.stdout}`.split('\n').find((l) => l.trim() !== '');
  return (text ?? `exit code ${result.code}`).trim();
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function daemonAnswers(): Promise<boolean> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
  return info.code === 0 && info.stdout.trim() !== '';
}

export type DaemonStatus =
  | { ok: true; started: boolean; serverVersion: string; storageDriver: string }
  | { ok: false; reason: string };

const startAdvice =
  'Start one (as root: `dockerd --storage-driver=vfs > /tmp/dockerd.log 2>&1 &`, or `systemctl start docker`), ' +
  'or let the harness start it: run as root with PIE_START_DOCKER=1 (CI=true does the same).';

/**
 * Makes sure a Docker daemon answers. Starts one only when allowed: we are root, and CI=true or
 * PIE_START_DOCKER=1. The storage driver defaults to vfs (works everywhere, slow);
 * PIE_DOCKER_STORAGE_DRIVER overrides it.
 */
export async function ensureDaemon(log: (line: string) => void = console.log): Promise<DaemonStatus> {
  if (which('docker') === undefined) {
    return {
      ok: false,
      reason: 'no docker client on PATH (Debian: apt-get install docker.io docker-compose).',
    };
  }
  if (!(await daemonAnswers())) {
    const root = process.getuid?.() === 0;
    const allowed = root && (process.env.CI === 'true' || process.env.PIE_START_DOCKER === '1');
    if (!allowed) {
      return {
        ok: false,
        reason: `no Docker daemon answers (\`docker info\` failed)${root ? '' : ' and we are not root'}. ${startAdvice}`,
      };
    }
    const dockerd = which('dockerd') ?? which('dockerd', '/usr/sbin:/usr/bin:/sbin:/bin');
    if (dockerd === undefined) {
      return {
        ok: false,
        reason: 'no Docker daemon answers and dockerd is not installed (apt-get install docker.io).',
      };
    }
    const driver = process.env.PIE_DOCKER_STORAGE_DRIVER ?? 'vfs';
    mkdirSync(outputDir, { recursive: true });
    const logFile = path.join(outputDir, 'dockerd.log');
    const fd = openSync(logFile, 'a');
    const child = spawn(dockerd, [`--storage-driver=${driver}`], {
      detached: true,
      stdio: ['ignore', fd, fd],
      // Swarm services (the deployment layer) use the local image, built or stood in, instead of a pull that
      // cannot reach its registry offline and waits for the lookup to time out.
      env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
    });
    child.unref();
    log(
      `Started ${dockerd} --storage-driver=${driver} (pid ${child.pid}), log in ${logFile}; it keeps running.`,
    );
    const deadline = Date.now() + 60_000;
    let exited: number | null | undefined;
    child.once('exit', (code) => {
      exited = code;
    });
    while (!(await daemonAnswers())) {
      if (exited !== undefined) {
        const last = readFileSync(logFile, 'utf8').trim().split('\n').at(-1);
        return { ok: false, reason: `dockerd exited (code ${exited}): ${last} (log: ${logFile}).` };
      }
      if (Date.now() > deadline) {
        return { ok: false, reason: `dockerd did not become ready within 60 s; see ${logFile}.` };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const info = await serverInfo();
    return { ok: true, started: true, ...info };
  }
  return { ok: true, started: false, ...(await serverInfo()) };
}

async function serverInfo(): Promise<{ serverVersion: string; storageDriver: string }> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}} {{.Driver}}'], {
    timeoutMs: 15_000,
  });
  const [serverVersion = '?', storageDriver = '?'] = info.stdout.trim().split(' ');
  return { serverVersion, storageDriver };
}

export interface Builder {
  /** the docker client that builds (absolute path) */
  docker: string;
  /** environment for it (and for docker-compose v1, which calls `docker build` when COMPOSE_DOCKER_CLI_BUILD=1) */
  env: NodeJS.ProcessEnv;
  buildkit: boolean;
  /** a directory whose `docker` is the building client: put it first on PATH for docker-compose v1 */
  shimDir: string;
  note: string;
}

let builder: Builder | undefined;

/** Chooses how images are built here; see the file comment. */
export async function findBuilder(): Promise<Builder> {
  if (builder !== undefined) return builder;
  const candidates = [which('docker'), ...['/usr/bin/docker', '/usr/local/bin/docker']].filter(
    (c): c is string => c !== undefined,
  );
  const seen = new Set<string>();
  let chosen: Omit<Builder, 'shimDir'> | undefined;
  for (const candidate of candidates) {
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const buildx = await run(candidate, ['buildx', 'version'], { timeoutMs: 15_000 });
    if (buildx.code === 0) {
      chosen = {
        docker: candidate,
        env: { DOCKER_BUILDKIT: '1' },
        buildkit: true,
        note: `BuildKit via buildx (${candidate})`,
      };
      break;
    }
    const version = await run(candidate, ['version', '--format', '{{.Client.Version}}'], {
      timeoutMs: 15_000,
    });
    const major = Number.parseInt(version.stdout.trim().split('.')[0] ?? '', 10);
    if (major > 0 && major < 23) {
      chosen = {
        docker: candidate,
        env: { DOCKER_BUILDKIT: '1' },
        buildkit: true,
        note: `BuildKit through docker client ${version.stdout.trim()} (${candidate}); no buildx plugin here`,
      };
      break;
    }
  }
  chosen ??= {
    docker: which('docker') ?? 'docker',
    env: { DOCKER_BUILDKIT: '0' },
    buildkit: false,
    note: 'classic builder: no buildx plugin and no docker client older than 23.0 with built-in BuildKit',
  };
  const shimDir = path.join(outputDir, 'docker-shim');
  rmSync(shimDir, { recursive: true, force: true });
  mkdirSync(shimDir, { recursive: true });
  symlinkSync(chosen.docker, path.join(shimDir, 'docker'));
  builder = {
    ...chosen,
    shimDir,
    env: {
      ...process.env,
      ...chosen.env,
      COMPOSE_DOCKER_CLI_BUILD: '1',
      PATH: `${shimDir}${path.delimiter}${process.env.PATH ?? ''}`,
    },
  };
  return builder;
}

/** Size in bytes of a local image, or undefined if it is not there. */
export async function imageSize(image: string): Promise<number | undefined> {
  const result = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', image], {
    timeoutMs: 30_000,
  });
  if (result.code !== 0) return undefined;
  return Number(result.stdout.trim());
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
