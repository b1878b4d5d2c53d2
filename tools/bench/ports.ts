// A stage's fixed ports must be free before it starts: another stage may still be stopping, or running.
import { createServer } from 'node:net';
import { stageNumber } from './paths.ts';

/** The services' ports, and etcd's from demo02 on (the stage starts its own). */
export const stagePorts = (stage: string): number[] => [
  8080,
  8081,
  8082,
  8083,
  8084,
  8085,
  8086,
  ...(stageNumber(stage) >= 2 ? [2379, 2380] : []),
];

export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, () => probe.close(() => done(true)));
  });
}

export async function waitForFreePorts(ports: number[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const busy: number[] = [];
    for (const port of ports) if (!(await portFree(port))) busy.push(port);
    if (busy.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `ports ${busy.join(', ')} are in use: is a stage still running? Stop it and run again.`,
      );
    }
    if (!said) console.log(`waiting for ports ${busy.join(', ')} to be free (another stage running?)`);
    said = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}
