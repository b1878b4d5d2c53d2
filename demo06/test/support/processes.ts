import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort as osPort } from '../../src/local/ports.js';
import { waitUntil } from '../../src/local/wait.js';

export const stageDir = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** A free port on loopback, as the OS hands it out. */
export const freePort = () => osPort('127.0.0.1');

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGKILLs the process and everything it started (its own process group), for cleanup after a failure. */
  killAll: () => void;
}

/** Runs a compiled file of the stage (dist/…) as its own process, collecting what it prints. */
export function spawnCompiled(file: string, env: Record<string, string> = {}, args: string[] = []): Spawned {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: stageDir,
    env: { ...process.env, ...env },
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const killAll = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return { child, output: () => output, exited, killAll };
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  detail: () => string = () => '',
) {
  if (!(await waitUntil(check, timeoutMs))) throw new Error(`timed out waiting for ${what}\n${detail()}`);
}

export const isReady = (url: string) =>
  fetch(`${url}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
