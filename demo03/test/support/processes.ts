import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const stageDir = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** A free port on loopback, as the OS hands it out. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

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
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}\n${detail()}`);
}

export const isReady = (url: string) =>
  fetch(`${url}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
