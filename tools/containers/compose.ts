/**
 * One stage's compose stack, driven as a person runs it: `up -d --build`, wait until every container is
 * healthy, and always `down -v --remove-orphans` afterwards, also on failure or Ctrl-C.
 *
 * The compose command is `docker compose` (v2) if that works, else `docker-compose` (v1, which applies
 * `deploy.resources.limits` only with --compatibility, and builds with BuildKit only through the docker CLI:
 * COMPOSE_DOCKER_CLI_BUILD=1 DOCKER_BUILDKIT=1, which `findBuilder` sets).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorLines, findBuilder, killRunning, outputDir, type RunResult, run } from './docker.ts';
import { composeFileOf } from './standins.ts';

type Log = (line: string) => void;

export interface ComposeCommand {
  cmd: string;
  args: string[];
  version: string;
  v1: boolean;
}

/** `docker compose` if the plugin answers, else `docker-compose`; undefined if neither is installed. */
export async function findCompose(env: NodeJS.ProcessEnv = process.env): Promise<ComposeCommand | undefined> {
  const plugin = await run('docker', ['compose', 'version', '--short'], { env, timeoutMs: 15_000 });
  if (plugin.code === 0) {
    const version = plugin.stdout.trim();
    return { cmd: 'docker', args: ['compose'], version, v1: version.startsWith('1.') };
  }
  const standalone = await run('docker-compose', ['version', '--short'], { env, timeoutMs: 30_000 });
  if (standalone.code === 0) {
    const version = standalone.stdout.trim();
    return { cmd: 'docker-compose', args: [], version, v1: version.startsWith('1.') };
  }
  return undefined;
}

export interface ContainerState {
  id: string;
  name: string;
  service: string;
  status: string;
  /** healthy, unhealthy, starting; '' when the container has no healthcheck */
  health: string;
  restarts: number;
}

/** Host ports a compose file publishes (`"8080:8080"`, `"127.0.0.1:8080:8080"`, long syntax). */
export function publishedPorts(composeFile: string): number[] {
  const compose = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as {
    services?: Record<string, { ports?: (string | number | { published?: string | number })[] }>;
  };
  const ports: number[] = [];
  for (const service of Object.values(compose.services ?? {})) {
    for (const port of service.ports ?? []) {
      const published =
        typeof port === 'object' ? port.published : (String(port).split(':').slice(-2, -1)[0] ?? undefined);
      const n = Number.parseInt(String(published ?? ''), 10);
      if (Number.isInteger(n)) ports.push(n);
    }
  }
  return ports;
}

/** Ports on 127.0.0.1 that something already answers on. */
export async function portsInUse(ports: number[]): Promise<number[]> {
  const inUse = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port });
          socket.setTimeout(1000);
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('timeout', () => {
            socket.destroy();
            resolve(false);
          });
          socket.once('error', () => resolve(false));
        }),
    ),
  );
  return ports.filter((_, i) => inUse[i]);
}

export interface StackOptions {
  stageDir: string;
  /** compose project name; default `pie-test-<stage>` so a person's own stack of the stage is not touched */
  project?: string;
  compose: ComposeCommand;
  log?: Log;
}

export class ComposeStack {
  readonly stageDir: string;
  readonly file: string;
  readonly project: string;
  readonly compose: ComposeCommand;
  private readonly log: Log;
  private env: NodeJS.ProcessEnv = process.env;
  private cleanup: (() => void) | undefined;
  private isDown = true;

  constructor(options: StackOptions) {
    this.stageDir = options.stageDir;
    this.file = composeFileOf(options.stageDir);
    this.project = options.project ?? `pie-test-${path.basename(options.stageDir)}`;
    this.compose = options.compose;
    this.log = options.log ?? console.log;
  }

  private argv(args: string[]): string[] {
    return [
      ...this.compose.args,
      ...(this.compose.v1 ? ['--compatibility'] : []),
      '--ansi',
      'never',
      '--file',
      this.file,
      '--project-name',
      this.project,
      ...args,
    ];
  }

  /** True from `up` until `down`: there may be containers to take down. */
  get active(): boolean {
    return !this.isDown;
  }

  /** Runs a compose subcommand in the stage folder. */
  exec(args: string[], timeoutMs: number, echo?: string): Promise<RunResult> {
    return run(this.compose.cmd, this.argv(args), { cwd: this.stageDir, env: this.env, timeoutMs, echo });
  }

  /** `build` (all services, or those named): the image build alone, to time it apart from the start. */
  async build(services: string[] = [], timeoutMs = 30 * 60_000): Promise<RunResult> {
    this.env = (await findBuilder()).env;
    this.arm(); // Ctrl-C ends the build (it runs in its own process group)
    const result = await this.exec(['build', ...services], timeoutMs, `[${this.project} build]`);
    if (result.code !== 0) {
      throw new Error(
        `compose build failed (exit ${result.code}${result.timedOut ? ', timed out' : ''}):\n${errorLines(result)}`,
      );
    }
    return result;
  }

  /**
   * `up -d --build` (all services, or those named). Arms the teardown for Ctrl-C, SIGTERM and process exit
   * first, so even an interrupted build or start is taken down.
   */
  async up(services: string[] = [], timeoutMs = 30 * 60_000): Promise<RunResult> {
    const builder = await findBuilder();
    this.env = builder.env;
    this.log(
      `compose: ${[this.compose.cmd, ...this.compose.args, this.compose.version].join(' ')}${
        this.compose.v1 ? ' (v1: --compatibility for memory limits)' : ''
      }; builds with ${builder.note}`,
    );
    this.arm();
    this.isDown = false;
    const result = await this.exec(
      ['up', '--detach', '--build', ...services],
      timeoutMs,
      `[${this.project} up]`,
    );
    if (result.code !== 0) {
      throw new Error(
        `compose up failed (exit ${result.code}${result.timedOut ? ', timed out' : ''}):\n${errorLines(result)}`,
      );
    }
    return result;
  }

  /** The project's containers and their states. */
  async containers(): Promise<ContainerState[]> {
    const ids = await run(
      'docker',
      ['ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${this.project}`],
      { timeoutMs: 30_000 },
    );
    const list = ids.stdout.split('\n').filter((l) => l.trim() !== '');
    if (list.length === 0) return [];
    const format =
      '{{.Id}}|{{.Name}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|' +
      '{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.RestartCount}}';
    const inspect = await run('docker', ['inspect', '--format', format, ...list], { timeoutMs: 30_000 });
    return inspect.stdout
      .split('\n')
      .filter((l) => l.includes('|'))
      .map((line) => {
        const [id = '', name = '', service = '', status = '', health = '', restarts = '0'] = line.split('|');
        return { id, name: name.replace(/^\//, ''), service, status, health, restarts: Number(restarts) };
      })
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  /**
   * Waits until every container runs and is healthy (or runs, where it has no healthcheck), printing the
   * states whenever they change. Fails early when a container exits, is unhealthy or keeps restarting.
   */
  async waitHealthy(expected: number, timeoutMs = 5 * 60_000): Promise<ContainerState[]> {
    const started = Date.now();
    let last = '';
    for (;;) {
      const states = await this.containers();
      const summary = states
        .map(
          (s) =>
            `${s.service}=${s.status}${s.health ? `/${s.health}` : ''}${s.restarts ? ` (restarts ${s.restarts})` : ''}`,
        )
        .join(', ');
      if (summary !== last) {
        this.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${summary || 'no containers yet'}`);
        last = summary;
      }
      const ready = (s: ContainerState) =>
        s.status === 'running' && (s.health === '' || s.health === 'healthy');
      if (states.length >= expected && states.every(ready)) return states;
      const broken = states.find(
        (s) => s.status === 'exited' || s.status === 'dead' || s.health === 'unhealthy' || s.restarts >= 3,
      );
      if (broken !== undefined) {
        throw new Error(
          `container ${broken.name} (${broken.service}) is ${broken.status}/${broken.health || '-'}`,
        );
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`not every container was healthy after ${timeoutMs / 1000} s: ${summary}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** For a failure report: each container's state, and the last healthcheck outputs of those not healthy. */
  async describeStates(): Promise<string> {
    const lines: string[] = [];
    for (const s of await this.containers()) {
      lines.push(`${s.name}: ${s.status}${s.health ? `/${s.health}` : ''}, restarts ${s.restarts}`);
      if (s.health !== '' && s.health !== 'healthy') {
        const health = await run(
          'docker',
          ['inspect', '--format', '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}|{{end}}', s.id],
          { timeoutMs: 30_000 },
        );
        const probes = health.stdout
          .split('|')
          .filter((p) => p.trim() !== '')
          .slice(-3);
        for (const probe of probes)
          lines.push(`    healthcheck exit ${probe.trim().replace(/\s+/g, ' ').slice(0, 300)}`);
      }
    }
    return lines.join('\n');
  }

  /** The last lines of every service's log. */
  async logs(tail = 50): Promise<string> {
    const result = await this.exec(['logs', '--no-color', `--tail=${tail}`], 120_000);
    return `${result.stdout}${result.stderr}`;
  }

  private downArgs(): string[] {
    return ['down', '--volumes', '--remove-orphans', '--timeout', '10'];
  }

  /** `down -v --remove-orphans`; safe to call more than once. */
  async down(): Promise<RunResult | undefined> {
    this.disarm();
    if (this.isDown) return undefined;
    this.isDown = true;
    const result = await this.exec(this.downArgs(), 5 * 60_000);
    this.log(`compose down ${this.project}: exit ${result.code} in ${(result.ms / 1000).toFixed(1)} s`);
    return result;
  }

  /**
   * The teardown for signal and exit handlers: `down` in its own session with its output in a log file, so it
   * finishes even when the test runner kills this process or closes its output right after the signal.
   */
  private downDetached(reason: string): ChildProcess | undefined {
    if (this.isDown) return undefined;
    this.isDown = true;
    mkdirSync(outputDir, { recursive: true });
    const logFile = path.join(outputDir, `compose-down-${this.project}.log`);
    const fd = openSync(logFile, 'a');
    process.stderr.write(`\n${reason}: taking the stack ${this.project} down (log: ${logFile})\n`);
    const child = spawn(this.compose.cmd, this.argv(this.downArgs()), {
      cwd: this.stageDir,
      env: this.env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    child.unref();
    return child;
  }

  private arm(): void {
    if (this.cleanup !== undefined) return;
    const onSignal = (signal: NodeJS.Signals) => {
      killRunning();
      const code = signal === 'SIGINT' ? 130 : 143;
      const child = this.downDetached(signal);
      if (child === undefined) process.exit(code);
      else child.once('exit', () => process.exit(code)).once('error', () => process.exit(code));
    };
    const onExit = () => this.downDetached('exit');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', onExit);
    this.cleanup = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    };
  }

  private disarm(): void {
    this.cleanup?.();
    this.cleanup = undefined;
  }
}
