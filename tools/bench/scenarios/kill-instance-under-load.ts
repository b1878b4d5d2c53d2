// kill-instance-under-load (demo03 on): three number-api instances behind the client-side load balancer; books
// are created steadily (each create asks number-api for an ISBN); one number-api instance is killed with
// SIGKILL in the middle. How many requests failed, how slow was the slowest, and how long until every request
// went to the survivors?
import { startLocalStage } from '../../lib/stage-process.ts';
import { runLoad } from '../load.ts';
import type { TimelineRecord } from '../load-worker.ts';
import { SERVICE_URLS } from '../paths.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './types.ts';

export interface Instance {
  service: string;
  instanceId: string;
  url: string;
  pid: number;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** The instances of a service registered in etcd, read through etcd's v3 HTTP/JSON gateway. */
export async function registeredInstances(endpoint: string, service: string): Promise<Instance[]> {
  const prefix = `/pie/services/${service}/`;
  const res = await fetch(new URL('/v3/kv/range', endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: b64(prefix), range_end: b64(`/pie/services/${service}0`) }),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`etcd at ${endpoint} answered ${res.status}`);
  const { kvs = [] } = (await res.json()) as { kvs?: { value: string }[] };
  return kvs.map((kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8')) as Instance);
}

/** The instances a served-by header names: one, or several after a retry (`number-api/a, number-api/b`). */
const named = (servedBy: string | undefined): string[] =>
  (servedBy ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Whether a served-by header (`number-api/<instance-id>`, or the bare id) names this instance. */
export const names = (servedBy: string | undefined, instanceId: string): boolean =>
  named(servedBy).some((s) => s === instanceId || s.endsWith(`/${instanceId}`));

/** The instance that gave the answer: the last one named (the earlier ones were tried and failed). */
const answeredBy = (servedBy: string | undefined): string => named(servedBy).at(-1) ?? '(not said)';

const ok = (r: TimelineRecord) => r.status >= 200 && r.status < 300;

function share(records: TimelineRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records.filter(ok))
    counts.set(answeredBy(r.servedBy), (counts.get(answeredBy(r.servedBy)) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return 'no successful requests';
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([who, n]) => `${who} ${Math.round((100 * n) / total)}%`)
    .join(', ');
}

export interface KillAnalysis {
  figures: Figure[];
  notes: string[];
}

/** What the records of a run say, given when the instance was killed (epoch ms) and which one it was. */
export function analyseKill(records: TimelineRecord[], killAt: number, victimId: string): KillAnalysis {
  const failed = records.filter((r) => !ok(r));
  const errors = failed.filter((r) => r.status === 0);
  const slowest = Math.max(0, ...records.map((r) => r.end - r.start));
  const lastEnd = Math.max(killAt, ...records.map((r) => r.end));
  const afterKill = records.filter((r) => r.end >= killAt);
  const lastFailure = Math.max(-Infinity, ...afterKill.filter((r) => !ok(r)).map((r) => r.end));
  const lastOnVictim = Math.max(
    -Infinity,
    ...afterKill.filter((r) => names(r.servedBy, victimId)).map((r) => r.end),
  );
  const recovered = Math.max(killAt, lastFailure, lastOnVictim);
  // Recovery that happens in the very last request of the run is not recovery we saw.
  const seen = recovered < lastEnd || (lastFailure === -Infinity && lastOnVictim === -Infinity);
  const since = (t: number) => (t === -Infinity ? 'none after the kill' : Math.round(t - killAt));
  const figures: Figure[] = [
    { label: 'requests sent', value: records.length },
    { label: 'failed (non-2xx or no answer)', value: failed.length },
    { label: 'of which no answer at all', value: errors.length },
    { label: 'slowest request', value: Math.round(slowest), unit: 'ms' },
    { label: 'kill → last failure', value: since(lastFailure), unit: lastFailure === -Infinity ? '' : 'ms' },
    {
      label: 'kill → last answer from the killed instance',
      value: since(lastOnVictim),
      unit: lastOnVictim === -Infinity ? '' : 'ms',
    },
    {
      label: 'kill → all traffic on the survivors (recovered)',
      value: seen ? Math.round(recovered - killAt) : 'not within the run',
      unit: seen ? 'ms' : '',
    },
  ];
  const notes = [
    `share before the kill: ${share(records.filter((r) => r.end < killAt))}`,
    `share after the kill: ${share(records.filter((r) => r.start >= killAt))}`,
  ];
  return { figures, notes };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const endpoint = (process.env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',')[0] ?? '';
  ctx.log(`starting ${ctx.stage} with three number-api instances`);
  const stage = await startLocalStage(ctx.stageDir, 90_000, {
    args: ['--scale', 'number-api=3'],
    build: false,
    outputLimit: 200_000,
  });
  try {
    let instances: Instance[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      instances = await registeredInstances(endpoint, 'number-api').catch(() => []);
      if (instances.length >= 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (instances.length < 2) {
      throw new Error(
        `etcd at ${endpoint} lists ${instances.length} number-api instance(s); the scenario needs 3`,
      );
    }
    const victim = instances[0] as Instance;
    const killAfterMs = Math.round((ctx.durationS * 1000) / 3);
    ctx.log(
      `${instances.length} number-api instances: ${instances.map((i) => i.instanceId).join(', ')}; ` +
        `creating books for ${ctx.durationS} s over ${ctx.connections} connections, ` +
        `SIGKILL to ${victim.instanceId} (pid ${victim.pid}) after ${killAfterMs} ms`,
    );
    let killAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const records = await runLoad(
      {
        kind: 'timeline',
        url: SERVICE_URLS.book,
        path: '/api/books',
        method: 'POST',
        body: 'book',
        connections: ctx.connections,
        durationS: ctx.durationS,
        servedByHeader: 'x-upstream-served-by',
        timeoutMs: 10_000,
      },
      () => {
        timer = setTimeout(() => {
          killAt = performance.timeOrigin + performance.now();
          process.kill(victim.pid, 'SIGKILL');
        }, killAfterMs);
      },
    ).finally(() => clearTimeout(timer));
    if (!killAt) throw new Error('the load ended before the instance was killed');
    const { figures, notes } = analyseKill(records, killAt, victim.instanceId);
    return {
      scenario: 'kill-instance-under-load',
      stage: ctx.stage,
      action:
        `${ctx.connections} connections creating books (POST /api/books → number-api ×${instances.length}) ` +
        `for ${ctx.durationS} s; one number-api instance killed with SIGKILL after ${killAfterMs} ms`,
      figures,
      notes,
    };
  } finally {
    await stage.stop();
  }
}

export const killInstanceUnderLoad: Scenario = {
  name: 'kill-instance-under-load',
  since: 'demo03',
  description: 'one of three number-api instances killed with SIGKILL while books are being created',
  run,
};
