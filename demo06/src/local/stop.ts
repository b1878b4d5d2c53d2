import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/**
 * How `npm start` stops a stage: SIGTERM to every service, and only once all of them have exited (each one
 * deregisters as it stops) the infrastructure they use, last. A service still running after `graceMs` is killed.
 */
export async function stopInOrder(
  services: ChildProcess[],
  infrastructure: (() => Promise<void>)[] = [],
  graceMs = 10_000,
): Promise<void> {
  const left = services.filter(running);
  const force = setTimeout(() => {
    for (const child of left) if (running(child)) child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(
    left.map((child) => {
      // 'close': exited, and everything it printed has been read.
      const closed = once(child, 'close');
      child.kill('SIGTERM');
      return closed;
    }),
  );
  clearTimeout(force);
  for (const stop of infrastructure) await stop();
}
