import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPorts } from '../../src/lib/config.js';
import { localPrometheusPort } from '../../src/local/prometheus.js';
import { dashboardQueries, needsActiveAlert } from './dashboards.js';
import { type Spawned, spawnCompiled, waitFor } from '../support/processes.js';

// The stage as `npm start -- --scale number-api=2` runs it, with a real Prometheus from the PATH (the runner's):
// it finds every instance through the registry, a new one and a gone one too, and every dashboard's queries
// answer with data once there is traffic. Discovery times are printed, not asserted. Fixed ports, like npm start.
const ci = process.env.CI === 'true';
const installed = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
if (!installed && ci)
  throw new Error('CI=true, but prometheus is not on the PATH (apt-get install prometheus)');

const prometheus = `http://127.0.0.1:${localPrometheusPort}`;
const api = (service: keyof typeof defaultPorts) => `http://127.0.0.1:${defaultPorts[service]}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Target {
  labels: Record<string, string>;
  health: string;
}

async function query(expr: string): Promise<{ status: string; data: { result: unknown[] } }> {
  const url = `${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`;
  return (await fetch(url, { signal: AbortSignal.timeout(5000) })).json() as never;
}

/** The instances of the store Prometheus scrapes successfully, by instance id. */
async function upInstances(): Promise<string[]> {
  const response = await fetch(`${prometheus}/api/v1/targets?state=active`, {
    signal: AbortSignal.timeout(5000),
  });
  const { data } = (await response.json()) as { data: { activeTargets: Target[] } };
  return ids(data.activeTargets);
}

function ids(targets: Target[]): string[] {
  const data = { activeTargets: targets };
  return data.activeTargets
    .filter((t) => t.labels.job === 'pie' && t.health === 'up')
    .map((t) => t.labels.instance_id ?? '')
    .sort();
}

/** Some of everything a visitor does: pages, catalogs, creates, carts and a checkout. */
async function traffic(rounds: number) {
  for (let i = 0; i < rounds; i++) {
    await fetch(`${api('web')}/`);
    await fetch(`${api('gateway')}/api/books?limit=5`);
    await fetch(`${api('book-api')}/api/books?limit=5`);
    await fetch(`${api('book-api')}/api/books/999999`);
    const book = { title: `Watched ${i}`, author: 'A. Metric', year: 2000, price: 10, pages: 100 };
    await fetch(`${api('book-api')}/api/books`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(book),
    });
    const cart = (await (await fetch(`${api('shoppingcart-api')}/api/carts`, { method: 'POST' })).json()) as {
      id: string;
    };
    await fetch(`${api('shoppingcart-api')}/api/carts/${cart.id}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'cd', id: 1, quantity: 1 }),
    });
    await fetch(`${api('shoppingcart-api')}/api/carts/${cart.id}/checkout`, {
      method: 'POST',
      headers: { 'idempotency-key': `watched-${i}-${cart.id}` },
    });
  }
}

describe.skipIf(!installed)('Prometheus, as npm start runs it, scraping the stage', () => {
  let runner: Spawned;
  let extra: Spawned | undefined;
  beforeAll(async () => {
    runner = spawnCompiled('dist/local/start-all.js', {}, ['--scale', 'number-api=2']);
    await waitFor(
      'all services ready',
      () => runner.output().includes('services ready in'),
      60_000,
      runner.output,
    );
  }, 90_000);
  afterAll(async () => {
    extra?.child.kill('SIGTERM');
    process.kill(-(runner.child.pid ?? 0), 'SIGINT');
    await runner.exited;
  }, 30_000);

  it('finds and scrapes every instance, both number-api ones included, with no target list', async () => {
    const t0 = Date.now();
    await waitFor(
      '9 instances up in Prometheus',
      async () => (await upInstances().catch(() => [])).length === 9,
      60_000,
      runner.output,
    );
    console.log(`Prometheus scraped all 9 instances ${seconds(Date.now() - t0)} after the stage was ready`);
    const result = await query('count by (service) (up{job="pie"} == 1)');
    const counts = Object.fromEntries(
      (result.data.result as { metric: { service: string }; value: [number, string] }[]).map((r) => [
        r.metric.service,
        Number(r.value[1]),
      ]),
    );
    expect(counts).toEqual({
      web: 1,
      'book-api': 1,
      'cd-api': 1,
      'dvd-api': 1,
      'number-api': 2,
      'inventory-api': 1,
      'shoppingcart-api': 1,
      gateway: 1,
    });
  }, 90_000);

  it('finds an instance started later, and drops one that stopped', async () => {
    const before = await upInstances();
    let t0 = Date.now();
    extra = spawnCompiled('dist/services/number-api/main.js', { PORT: '0', LOG_LEVEL: 'warn' });
    await waitFor(
      'the new number-api scraped',
      async () => (await upInstances()).length === before.length + 1,
      60_000,
      extra.output,
    );
    const added = (await upInstances()).find((id) => !before.includes(id));
    console.log(`a new number-api (${added}) was scraped ${seconds(Date.now() - t0)} after it started`);
    t0 = Date.now();
    extra.child.kill('SIGTERM');
    await extra.exited;
    await waitFor(
      'the stopped number-api gone',
      async () => !(await upInstances()).includes(added ?? ''),
      60_000,
    );
    console.log(
      `a stopped number-api left Prometheus's targets ${seconds(Date.now() - t0)} after it stopped`,
    );
    extra = undefined;
  }, 150_000);

  it("answers every dashboard panel's query with data once there is traffic", async () => {
    await traffic(20);
    // A third number-api, then killed without deregistering: its callers see one instance fewer than they
    // had, the InstanceLost alert is raised, and the alert panels have something to show.
    const doomed = spawnCompiled('dist/services/number-api/main.js', { PORT: '0', LOG_LEVEL: 'warn' });
    const known = async () => {
      const result = (await query('max(pie_registry_instances{peer_service="number-api"})')).data.result;
      return Number((result[0] as { value: [number, string] } | undefined)?.value[1]);
    };
    await waitFor(
      'three number-api instances known',
      async () => (await known()) === 3,
      60_000,
      doomed.output,
    );
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // Its lease runs out (10 s), the callers' views and then Prometheus see two, and only then is the alert
    // this loss raises there (one raised by an earlier loss may still be resolving).
    await waitFor('the loss seen by Prometheus', async () => (await known()) === 2, 60_000);
    const lost = 'ALERTS{alertname="InstanceLost",peer_service="number-api"}';
    await waitFor('InstanceLost raised', async () => (await query(lost)).data.result.length > 0, 60_000);
    // Two scrapes after the traffic, so that every rate has two samples.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const empty: string[] = [];
    for (const { dashboard, panel, expr } of dashboardQueries()) {
      const answer = await query(expr);
      expect(answer.status, `${dashboard} / ${panel}: ${expr}`).toBe('success');
      if (answer.data.result.length === 0)
        empty.push(`${dashboard} / ${panel}${needsActiveAlert(expr) ? ' (alerts)' : ''}: ${expr}`);
    }
    expect(empty).toEqual([]);
  }, 120_000);
});
