/**
 * One stage's compose stack, driven as a person runs it: `up -d --build`, wait until every container is
 * healthy, and always `down -v --remove-orphans` afterwards, also on failure or Ctrl-C.
 *
 * The compose command is `docker compose` (v2) if that works, else `docker-compose` (v1, which applies
 * `deploy.resources.limits` only with --compatibility, and builds with BuildKit only through the docker CLI:
 * COMPOSE_DOCKER_CLI_BUILD=1 DOCKER_BUILDKIT=1, which `findBuilder` sets).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
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
  /** its exit code, once it has exited */
  exitCode: number;
  /** the container's host name (its short id unless compose sets one) */
  hostname: string;
  /** its IPv4 addresses on the networks it is attached to */
  ips: string[];
}

type PortSpec = string | number | { published?: string | number; target?: string | number };

/** One published port: the host port, and the container port it forwards to. */
export interface PublishedPort {
  published: number;
  target: number;
}

function parsePort(port: PortSpec): PublishedPort | undefined {
  let published: unknown;
  let target: unknown;
  if (typeof port === 'object') {
    published = port.published;
    target = port.target;
  } else {
    // "8080:8080", "127.0.0.1:8080:8080", "8080:8080/tcp"; a lone "8080" publishes on a random host port
    const parts = String(port)
      .replace(/\/\w+$/, '')
      .split(':');
    if (parts.length < 2) return undefined;
    published = parts.at(-2);
    target = parts.at(-1);
  }
  const p = Number.parseInt(String(published ?? ''), 10);
  const t = Number.parseInt(String(target ?? ''), 10);
  return Number.isInteger(p) && Number.isInteger(t) ? { published: p, target: t } : undefined;
}

/** The services of a compose file (YAML merge keys resolved). */
export function composeServices(
  composeFile: string,
): Record<string, { ports?: PortSpec[]; image?: string; restart?: string }> {
  const compose = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as {
    services?: Record<string, { ports?: PortSpec[]; image?: string; restart?: string }>;
  };
  return compose.services ?? {};
}

/** The services that run once and exit (`restart: 'no'`, a key maker say): done when they exited with 0. */
export function oneShotServices(composeFile: string): Set<string> {
  return new Set(
    Object.entries(composeServices(composeFile))
      .filter(([, service]) => service.restart === 'no')
      .map(([name]) => name),
  );
}

/** The host ports each service publishes, by service name (services that publish nothing are absent). */
export function publishedByService(composeFile: string): Record<string, PublishedPort[]> {
  const byService: Record<string, PublishedPort[]> = {};
  for (const [name, service] of Object.entries(composeServices(composeFile))) {
    const ports = (service.ports ?? []).map(parsePort).filter((p) => p !== undefined);
    if (ports.length > 0) byService[name] = ports;
  }
  return byService;
}

/** Host ports a compose file publishes (`"8080:8080"`, `"127.0.0.1:8080:8080"`, long syntax). */
export function publishedPorts(composeFile: string): number[] {
  return Object.values(publishedByService(composeFile)).flatMap((ports) => ports.map((p) => p.published));
}

/**
 * Ports taken on this machine: something answers on 127.0.0.1, or the port cannot be bound on 0.0.0.0 (what
 * Docker's port publishing needs).
 */
export async function portsInUse(ports: number[]): Promise<number[]> {
  const answers = (port: number) =>
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
    });
  const unbindable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(true));
      server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(false)));
    });
  const inUse = await Promise.all(
    ports.map(async (port) => (await answers(port)) || (await unbindable(port))),
  );
  return ports.filter((_, i) => inUse[i]);
}

/**
 * Waits until none of `ports` answers on 127.0.0.1 (another run of a stage may hold them for a while); returns
 * the ports still taken after `timeoutMs` (empty: all free).
 */
export async function waitPortsFree(
  ports: number[],
  timeoutMs: number,
  log: Log = console.log,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let busy = await portsInUse(ports);
  if (busy.length > 0)
    log(`ports ${busy.join(', ')} are taken on 127.0.0.1; waiting up to ${timeoutMs / 1000} s`);
  while (busy.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    busy = await portsInUse(ports);
  }
  return busy;
}

export interface StackOptions {
  stageDir: string;
  /** compose project name; default `pie-test-<stage>` so a person's own stack of the stage is not touched */
  project?: string;
  compose: ComposeCommand;
  log?: Log;
}

/**
 * A copy of a compose file whose published host ports are `offset` higher ("8081:8081" becomes "18081:8081"),
 * everything else as it was (YAML merge keys resolved, build contexts made absolute). For a machine where other
 * runs hold the stage's ports; the stack inside is the same.
 */
export function shiftedComposeFile(composeFile: string, offset: number, outFile: string): string {
  const stageDir = path.dirname(composeFile);
  const compose = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as {
    services?: Record<string, { ports?: PortSpec[]; build?: string | { context?: string } }>;
  };
  for (const service of Object.values(compose.services ?? {})) {
    if (typeof service.build === 'string') service.build = path.resolve(stageDir, service.build);
    else if (service.build !== undefined)
      service.build.context = path.resolve(stageDir, service.build.context ?? '.');
    service.ports = service.ports?.map((port) => {
      const parsed = parsePort(port);
      if (parsed === undefined) return port;
      const published = parsed.published + offset;
      if (typeof port === 'object') return { ...port, published };
      const parts = String(port).split(':');
      parts[parts.length - 2] = String(published);
      return parts.join(':');
    });
  }
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(
    outFile,
    `# ${path.relative(path.dirname(outFile), composeFile)} with host ports +${offset} (generated by the container tests)\n` +
      stringifyYaml(compose),
  );
  return outFile;
}

export class ComposeStack {
  readonly stageDir: string;
  /** the compose file the stack runs from: the stage's own, or a port-shifted copy (see `shiftPorts`) */
  file: string;
  /** how much higher than the stage's compose file says the published host ports are (0: as written) */
  portOffset = 0;
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
      '--project-directory',
      this.stageDir,
      '--project-name',
      this.project,
      ...args,
    ];
  }

  /**
   * From now on, runs the stack from a copy of the stage's compose file whose published host ports are `offset`
   * higher (before `up`, or after `down`). Says so loudly: the ports a person uses are then not the ones tested.
   */
  shiftPorts(offset: number, why: string): void {
    const original = composeFileOf(this.stageDir);
    this.portOffset = offset;
    this.file =
      offset === 0
        ? original
        : shiftedComposeFile(
            original,
            offset,
            path.join(outputDir, `compose-${this.project}-ports+${offset}.yml`),
          );
    const rule = '='.repeat(100);
    this.log(
      `\n${rule}\nPUBLISHED PORTS SHIFTED by +${offset} (${why}): the stack runs from ${this.file}\n${rule}\n`,
    );
  }

  /** The host ports each service publishes, as the stack runs (shift included). */
  published(): Record<string, PublishedPort[]> {
    return publishedByService(this.file);
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
   * `up -d --build` (all services, or those named), with `--scale service=n` for each entry of `scale`. Arms
   * the teardown for Ctrl-C, SIGTERM and process exit first, so even an interrupted build or start is taken down.
   */
  async up(
    services: string[] = [],
    scale: Record<string, number> = {},
    timeoutMs = 30 * 60_000,
  ): Promise<RunResult> {
    const builder = await findBuilder();
    this.env = builder.env;
    this.log(
      `compose: ${[this.compose.cmd, ...this.compose.args, this.compose.version].join(' ')}${
        this.compose.v1 ? ' (v1: --compatibility for memory limits)' : ''
      }; builds with ${builder.note}`,
    );
    this.arm();
    this.isDown = false;
    const scaling = Object.entries(scale).flatMap(([service, n]) => ['--scale', `${service}=${n}`]);
    const result = await this.exec(
      ['up', '--detach', '--build', ...scaling, ...services],
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
    // A container with no healthcheck that has exited has no State.Health at all: `index` reads it without failing.
    const format =
      '{{.Id}}|{{.Name}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|' +
      '{{with index .State "Health"}}{{.Status}}{{end}}|{{.RestartCount}}|{{.Config.Hostname}}|' +
      '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}|{{.State.ExitCode}}';
    const inspect = await run('docker', ['inspect', '--format', format, ...list], { timeoutMs: 30_000 });
    return inspect.stdout
      .split('\n')
      .filter((l) => l.includes('|'))
      .map((line) => {
        const [
          id = '',
          name = '',
          service = '',
          status = '',
          health = '',
          restarts = '0',
          hostname = '',
          ips = '',
          exitCode = '0',
        ] = line.split('|');
        return {
          id,
          name: name.replace(/^\//, ''),
          service,
          status,
          health,
          restarts: Number(restarts),
          exitCode: Number(exitCode),
          hostname,
          ips: ips.split(' ').filter((ip) => ip !== ''),
        };
      })
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  /**
   * Waits until every container runs and is healthy (or runs, where it has no healthcheck), and every one-shot
   * service's has exited with 0, printing the states whenever they change. Fails early when a container exits
   * (a one-shot: with another code), is unhealthy or keeps restarting. Resolves with the running ones.
   */
  async waitHealthy(expected: number, timeoutMs = 5 * 60_000): Promise<ContainerState[]> {
    const started = Date.now();
    const oneShots = oneShotServices(this.file);
    const done = (s: ContainerState) => oneShots.has(s.service) && s.status === 'exited' && s.exitCode === 0;
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
        done(s) || (s.status === 'running' && (s.health === '' || s.health === 'healthy'));
      if (states.length >= expected && states.every(ready)) return states.filter((s) => !done(s));
      const broken = states.find(
        (s) =>
          !done(s) &&
          (s.status === 'exited' || s.status === 'dead' || s.health === 'unhealthy' || s.restarts >= 3),
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
