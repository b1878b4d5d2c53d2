// What the failure scenarios of the stages (demoNN/scenarios/*.ts) share: the registry read from outside, and
// what a timeline of requests says about an instance killed in the middle of it.
import type { TimelineRecord } from '../load-worker.ts';
import type { Figure } from './types.ts';

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
