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

/** Builds the stage and runs it as `npm start` does; resolves once every service is ready. */
export async function startLocalStage(stageDir: string, timeoutMs = 60_000): Promise<LocalStage> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: stageDir, stdio: 'inherit' });
  const started = performance.now();
  // Its own process group, so that nothing it started can outlive it, whatever happens to this process.
  const child = spawn(process.execPath, ['dist/start-all.js'], {
    cwd: stageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** Ctrl-C, as a person stops it; whatever is left after 15 s is killed. */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    const force = setTimeout(killGroup, 15_000);
    await exited;
    clearTimeout(force);
    killGroup();
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the stage was not ready within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const watch = setInterval(() => {
      if (output.includes('services ready in')) {
        clearInterval(watch);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(watch);
      clearTimeout(timer);
      reject(new Error(`the stage exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, readyAfterMs: Math.round(performance.now() - started), output: () => output, stop };
}
