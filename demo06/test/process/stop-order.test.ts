import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { stopInOrder } from '../../src/local/stop.js';

/** A stand-in service: says when it is up, and on SIGTERM takes a moment (as a deregistration does) to exit. */
const serviceScript = `
process.on('SIGTERM', () => setTimeout(() => { console.log('stopped'); process.exit(0); }, 200));
console.log('up');
setInterval(() => {}, 1000);
`;
/** One that ignores SIGTERM. */
const stubbornScript = `
process.on('SIGTERM', () => {});
console.log('up');
setInterval(() => {}, 1000);
`;

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

async function start(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  expect(String(chunk)).toContain('up');
  return child;
}

describe('stopping the stage (npm start, Ctrl-C)', () => {
  it('stops every service, and the infrastructure only once all of them have exited', async () => {
    const services = [await start(serviceScript), await start(serviceScript), await start(serviceScript)];
    const printed = services.map((child) => {
      let out = '';
      child.stdout?.on('data', (c) => (out += c));
      return () => out;
    });
    const seenByInfrastructure: (number | null)[][] = [];
    await stopInOrder(services, [
      async () => {
        seenByInfrastructure.push(services.map((child) => child.exitCode));
      },
    ]);
    expect(seenByInfrastructure).toEqual([[0, 0, 0]]);
    expect(printed.map((out) => out())).toEqual(['stopped\n', 'stopped\n', 'stopped\n']);
  });

  it('kills a service that does not stop within the grace time, then stops the infrastructure', async () => {
    const stubborn = await start(stubbornScript);
    const polite = await start(serviceScript);
    let infrastructureStopped = false;
    await stopInOrder([stubborn, polite], [async () => void (infrastructureStopped = true)], 500);
    expect(stubborn.signalCode).toBe('SIGKILL');
    expect(polite.exitCode).toBe(0);
    expect(infrastructureStopped).toBe(true);
  });

  it('with every service already gone, stops the infrastructure at once', async () => {
    const gone = await start(serviceScript);
    gone.kill('SIGKILL');
    await once(gone, 'close');
    let infrastructureStopped = false;
    await stopInOrder([gone], [async () => void (infrastructureStopped = true)]);
    expect(infrastructureStopped).toBe(true);
  });
});
