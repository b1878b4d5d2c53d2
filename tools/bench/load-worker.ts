// The load generator, run as its own process (never in the event loop of the benchmark that watches the
// stage): `node tools/bench/load-worker.ts '<json job>'`. It prints `STARTED <epoch ms>` when the load
// begins and, at the end, one line `RESULT <json>`.
//
// Two kinds of job:
// - `cannon`: autocannon for a while (after a warm-up that is thrown away); the result is autocannon's summary.
// - `timeline`: a few connections sending one request after another, every answer recorded (when it started
//   and ended, its status, which instance served it): for the failure scenarios, which need to see each request.
import autocannon from 'autocannon';
import { type Body, bodyFor } from './bodies.ts';

export interface CannonJob {
  kind: 'cannon';
  url: string;
  method: 'GET' | 'POST';
  /** The path of every request; `{cart}` is replaced by one of `carts`, in turn. */
  path: string;
  body: Body;
  carts?: string[];
  items?: { type: string; id: number }[];
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  warmupS: number;
}

export interface TimelineJob {
  kind: 'timeline';
  url: string;
  method: 'GET' | 'POST';
  path: string;
  body: Body;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** The response header that names the instance that served the request. */
  servedByHeader: string;
  timeoutMs: number;
}

export interface CannonResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  elapsedS: number;
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export interface TimelineRecord {
  /** epoch ms, when the request was sent and when its answer (or error) arrived */
  start: number;
  end: number;
  status: number;
  servedBy?: string;
  error?: string;
}

const now = () => performance.timeOrigin + performance.now();

async function cannon(job: CannonJob, durationS: number): Promise<CannonResult> {
  let n = 0;
  const headers = { 'content-type': 'application/json', ...job.headers };
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    duration: durationS,
    requests: [
      {
        method: job.method,
        headers,
        setupRequest: (request) => {
          n += 1;
          // Each cart gets every item in turn before the next cart is used: a cart holds at most 99 of one item.
          const cart = job.carts?.[Math.floor(n / (job.items?.length ?? 1)) % job.carts.length];
          const path = job.path.replace('{cart}', cart ?? '');
          const body = bodyFor(job.body, n, job.items);
          return { ...request, path, ...(body === undefined ? {} : { body }) };
        },
      },
    ],
  });
  const r = await instance;
  const elapsedS = (new Date(r.finish).getTime() - new Date(r.start).getTime()) / 1000 || durationS;
  const ok = r['2xx'];
  return {
    requests: ok + r.non2xx + r.errors,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    elapsedS,
    reqPerSec: ok / elapsedS,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
    },
  };
}

async function timeline(job: TimelineJob): Promise<TimelineRecord[]> {
  const records: TimelineRecord[] = [];
  const until = now() + job.durationS * 1000;
  let n = 0;
  const loop = async () => {
    while (now() < until) {
      n += 1;
      const body = bodyFor(job.body, n);
      const start = now();
      try {
        const res = await fetch(new URL(job.path, job.url), {
          method: job.method,
          headers: { 'content-type': 'application/json', ...job.headers },
          body,
          signal: AbortSignal.timeout(job.timeoutMs),
        });
        await res.arrayBuffer();
        records.push({
          start,
          end: now(),
          status: res.status,
          servedBy: res.headers.get(job.servedByHeader) ?? undefined,
        });
      } catch (err) {
        records.push({ start, end: now(), status: 0, error: (err as Error).name });
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  return records;
}

const job = JSON.parse(process.argv[2] ?? '{}') as CannonJob | TimelineJob;
if (job.kind === 'cannon') {
  if (job.warmupS > 0) await cannon(job, job.warmupS);
  console.log(`STARTED ${now()}`);
  console.log(`RESULT ${JSON.stringify(await cannon(job, job.durationS))}`);
} else if (job.kind === 'timeline') {
  console.log(`STARTED ${now()}`);
  console.log(`RESULT ${JSON.stringify(await timeline(job))}`);
} else {
  console.error('usage: node tools/bench/load-worker.ts \'{"kind": "cannon" | "timeline", ...}\'');
  process.exit(2);
}
