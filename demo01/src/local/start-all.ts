import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultPorts, type ServiceName, serviceNames } from '../lib/config.js';
import { stage } from '../lib/stage.js';
import { Batch, relay } from './log.js';
import { portIsFree } from './ports.js';
import { stopInOrder } from './stop.js';
import { waitUntil } from './wait.js';

/**
 * `npm start`: every service of the stage as its own process on its usual port, each log line readable and
 * prefixed with the service's name. Ctrl-C stops them all; one that fails to start stops the rest.
 */

const colours = [36, 32, 33, 35, 34, 91, 96];
const width = Math.max(...serviceNames.map((name) => name.length));
const readyTimeoutMs = 30_000;
/**
 * V8's heap bound for every service, as in the compose file (a 128M limit per service; a Pi has 1–8 GB): 64 MiB
 * of old space, and 4 MiB semi-spaces — without them V8 sizes the young generation from the machine's RAM, and
 * the small old space then costs full collections (book creates fell to 0.3× with the old-space bound alone);
 * with 1 MiB ones a busy service collects its young garbage some 300 times a second.
 */
const nodeOptions = ['--enable-source-maps', '--max-old-space-size=64', '--max-semi-space-size=4'];
const colour = process.stdout.hasColors?.() ?? false;
const toStdout = new Batch(process.stdout);
const toStderr = new Batch(process.stderr);
const label = (name: string, code: number) =>
  colour ? `\x1b[${code}m${name.padEnd(width)} |\x1b[0m ` : `${name.padEnd(width)} | `;

const children = new Map<ServiceName, ChildProcess>();
let stopping = false;
let allReady = false;

function stopAll(exitCode: number) {
  if (stopping) return;
  stopping = true;
  void stopInOrder([...children.values()]).then(() => {
    toStdout.flush();
    toStderr.flush();
    process.exit(exitCode);
  });
}

async function waitUntilReady(name: ServiceName): Promise<void> {
  const url = `http://127.0.0.1:${defaultPorts[name]}/health/ready`;
  const ready = () =>
    stopping ||
    fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
  if (!(await waitUntil(ready, readyTimeoutMs, 100)))
    throw new Error(`${name} was not ready within ${readyTimeoutMs / 1000} s (${url})`);
}

// The ports are checked first, so that another stage's services are never taken for ours.
const busy: ServiceName[] = [];
for (const name of serviceNames) if (!(await portIsFree(defaultPorts[name]))) busy.push(name);
if (busy.length > 0) {
  for (const name of busy) console.error(`port ${defaultPorts[name]} (${name}) is already in use`);
  console.error(
    'Is another stage still running? Stop it (Ctrl-C, or `docker compose down`) and start again.',
  );
  process.exit(1);
}

const started = performance.now();
console.log(`${stage.stage} · ${stage.title}: starting ${serviceNames.length} services`);
serviceNames.forEach((name, index) => {
  const entry = fileURLToPath(new URL(`../services/${name}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [...nodeOptions, entry], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = label(name, colours[index % colours.length] ?? 0);
  relay(child.stdout, prefix, toStdout, colour);
  relay(child.stderr, prefix, toStderr, colour);
  // 'close': exited, and its last lines are read; they are shown before the runner says it exited.
  child.on('close', (code, signal) => {
    if (stopping) return;
    toStdout.flush();
    toStderr.flush();
    // Before the stage is up, a failure stops everything; afterwards a service stopped on purpose (a lab
    // exercise, a demo) leaves the others running, so its absence can be seen.
    if (!allReady) {
      console.error(
        `${name} exited (${signal ?? `code ${code}`}) before it was ready; stopping the other services`,
      );
      stopAll(1);
    } else console.error(`${name} exited (${signal ?? `code ${code}`}); the other services keep running`);
  });
  children.set(name, child);
});

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

try {
  await Promise.all(serviceNames.map(waitUntilReady));
  if (!stopping) {
    allReady = true;
    const ms = Math.round(performance.now() - started);
    console.log(`all ${serviceNames.length} services ready in ${ms} ms`);
    for (const name of serviceNames)
      console.log(`  ${name.padEnd(width)}  http://localhost:${defaultPorts[name]}`);
    console.log(`storefront: http://localhost:${defaultPorts.web}   (Ctrl-C stops every service)`);
  }
} catch (err) {
  console.error((err as Error).message);
  stopAll(1);
}
