import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `npm ci` when the stage has no node_modules or its lockfile is newer than what was installed. */
export function ensureInstalled(stageDir: string, force = false): void {
  const installed = join(stageDir, 'node_modules', '.package-lock.json');
  const lock = join(stageDir, 'package-lock.json');
  if (!force && existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log(`installing ${stageDir} (npm ci)`);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: stageDir, stdio: 'inherit' });
}

export interface LocalStage {
  child: ChildProcess;
  /** Milliseconds from spawn to "all services ready". */
  readyAfterMs: number;
  output: () => string;
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** Arguments for `dist/local/start-all.js`, as after `npm start --` (e.g. `['--scale', 'number-api=3']`). */
  args?: string[];
  /** Added to the environment of the stage. */
  env?: Record<string, string>;
  /** `npm run build` first (default true); false when the caller has just built the stage. */
  build?: boolean;
  /** Keep only the last this many characters of the output (default: all of it). */
  outputLimit?: number;
}

/** Builds the stage and runs it as `npm start` does; resolves once every service is ready. */
export async function startLocalStage(
  stageDir: string,
  timeoutMs = 60_000,
  options: StartOptions = {},
): Promise<LocalStage> {
  if (options.build !== false)
    execFileSync('npm', ['run', '-s', 'build'], { cwd: stageDir, stdio: 'inherit' });
  const started = performance.now();
  // Its own process group, so that nothing it started can outlive it, whatever happens to this process.
  const child = spawn(process.execPath, ['dist/local/start-all.js', ...(options.args ?? [])], {
    cwd: stageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, ...options.env },
  });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  // The output as chunks, joined only when asked for: a busy stage prints thousands of lines a second, and
  // copying one growing string per chunk would cost the machine being measured more than the stage's own logging.
  const chunks: string[] = [];
  let length = 0;
  let tail = '';
  let readyAt: number | undefined;
  const limit = options.outputLimit ?? Infinity;
  const collect = (chunk: Buffer) => {
    const text = String(chunk);
    // Noted as the line arrives, so the time does not depend on how often the wait below looks.
    if (readyAt === undefined) {
      if ((tail + text).includes('services ready in')) readyAt = performance.now();
      tail = text.slice(-100);
    }
    chunks.push(text);
    length += text.length;
    while (length - (chunks[0]?.length ?? 0) >= limit && chunks.length > 1)
      length -= chunks.shift()?.length ?? 0;
  };
  const output = () => {
    const all = chunks.join('');
    return all.length > limit ? all.slice(-limit) : all;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** Ctrl-C, as a person stops it; whatever is left after 15 s is killed. */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    const force = setTimeout(killGroup, 15_000);
    await exited;
    clearTimeout(force);
    killGroup();
    process.removeListener('exit', killGroup);
  };
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      clearTimeout(timer);
      if (!err) return resolve();
      // A stage that did not come up leaves nothing running behind it.
      killGroup();
      process.removeListener('exit', killGroup);
      reject(err);
    };
    const timer = setTimeout(
      () => settle(new Error(`the stage was not ready within ${timeoutMs} ms:\n${output()}`)),
      timeoutMs,
    );
    const watch = setInterval(() => readyAt !== undefined && settle(), 20);
    child.once('exit', (code) =>
      settle(new Error(`the stage exited (${code}) before it was ready:\n${output()}`)),
    );
  });
  return {
    child,
    readyAfterMs: Math.round((readyAt ?? performance.now()) - started),
    output,
    stop,
  };
}
