/**
 * The Grafana files, checked without Grafana or Prometheus: every dashboard parses and names the provisioned
 * datasource, every query uses only the variables the live test can replace, only the metrics and labels the
 * services expose, and parses as PromQL (promtool; skipped where it is not installed, except under CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allPanels,
  dashboardQueries,
  datasourceUids,
  datasourceUses,
  hasZeroFallback,
  loadDashboards,
  provisionedDatasourceUid,
  type Query,
  variableValues,
  withoutZeroFallback,
} from './dashboards.js';

const dashboards = loadDashboards();
const queries = dashboardQueries();

// The metrics contract: what the services (prom-client) and Prometheus itself expose.
const histograms = ['http_server_request_duration_seconds', 'http_client_request_duration_seconds'];
const contractMetrics = new Set([
  ...histograms.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
  'nodejs_gc_duration_seconds_bucket',
  'nodejs_gc_duration_seconds_sum',
  'nodejs_gc_duration_seconds_count',
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'pie_registry_instances',
  'pie_balancer_ejections_total',
  'pie_balancer_retries_total',
  'up',
  'ALERTS',
  'ALERTS_FOR_STATE',
  'scrape_duration_seconds',
]);
const contractLabels = new Set([
  'job',
  'instance',
  'service',
  'instance_id',
  'http_request_method',
  'http_route',
  'http_response_status_code',
  'peer_service',
  'peer_instance',
  'outcome',
  'kind',
  'le',
  'alertname',
  'alertstate',
]);

const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric and label names an expression uses, read without a PromQL parser: label names from matchers and
 * from grouping clauses; metric names are the identifiers left once strings, matchers, ranges, grouping clauses,
 * function calls and keywords are taken out. Enough for the shapes the dashboards use, which promtool parses.
 */
function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  const grouping = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
  for (const m of expr.matchAll(grouping)) labels.push(...m[1]!.split(',').map((l) => l.trim()));
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const l of m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(l[1]!);
  }
  const rest = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(grouping, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const metrics = [...rest.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
  return { metrics, labels: labels.filter((l) => l !== '') };
}

describe('grafana dashboards', () => {
  it('are the four dashboards, each parsed', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['alerts.json', 'instances.json', 'node.json', 'red.json']);
  });

  it('each have a unique uid and title', () => {
    const uids = dashboards.map((d) => d.json.uid);
    const titles = dashboards.map((d) => d.json.title);
    for (const value of [...uids, ...titles]) expect(value).toMatch(/\S/);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('follow the Grafana 11 model: schema 39, refresh every 5s, the last 15 minutes', () => {
    for (const { file, json } of dashboards) {
      expect({ schemaVersion: json.schemaVersion, refresh: json.refresh, time: json.time }, file).toEqual({
        schemaVersion: 39,
        refresh: '5s',
        time: { from: 'now-15m', to: 'now' },
      });
    }
  });

  it('give every panel a title, and every panel a unique id within its dashboard', () => {
    for (const { file, json } of dashboards) {
      const panels = allPanels(json);
      for (const p of panels) expect(p.title, `${file}, panel ${p.id}`).toMatch(/\S/);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it('name only the provisioned Prometheus datasource, on every panel, target and variable', () => {
    const uid = provisionedDatasourceUid();
    expect(uid).toBe('pie-prometheus');
    for (const use of datasourceUses()) {
      expect({ type: use.type, uid: use.uid }, `${use.dashboard}, ${use.where}`).toEqual({
        type: 'prometheus',
        uid,
      });
    }
    expect(datasourceUids()).toEqual([uid]);
  });

  it('use only variables that can be replaced, and define the ones that are not built in', () => {
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(q.expr, `${q.dashboard}, ${q.panel}`).not.toMatch(/\$|\[\[/);
    for (const { file, json } of dashboards) {
      const used = new Set(
        allPanels(json).flatMap((p) =>
          (p.targets ?? []).flatMap((t) => [...(t.expr ?? '').matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!)),
        ),
      );
      const defined = new Map((json.templating?.list ?? []).map((v) => [v.name, v]));
      for (const name of used) {
        if (name.startsWith('__')) continue;
        const variable = defined.get(name);
        // The live test replaces it by `.*`: right only if "All" means exactly that.
        expect(variable, `${file}: $${name} is not defined`).toBeDefined();
        expect(
          { includeAll: variable?.includeAll, allValue: variable?.allValue },
          `${file}: $${name}`,
        ).toEqual({
          includeAll: true,
          allValue: variableValues[name],
        });
      }
    }
  });

  it('query only the metrics and labels of the metrics contract', () => {
    for (const q of queries) {
      const { metrics, labels } = namesIn(q.expr);
      const where = `${q.dashboard}, ${q.panel}: ${q.expr}`;
      expect(metrics.length, where).toBeGreaterThan(0);
      expect(
        metrics.filter((m) => !contractMetrics.has(m)),
        where,
      ).toEqual([]);
      expect(
        labels.filter((l) => !contractLabels.has(l)),
        where,
      ).toEqual([]);
    }
    for (const { file, json } of dashboards) {
      for (const p of allPanels(json)) {
        for (const t of p.targets ?? []) {
          const legend = typeof t.legendFormat === 'string' ? t.legendFormat : '';
          const names = [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
          expect(
            names.filter((n) => !contractLabels.has(n)),
            `${file}, ${p.title}: legend ${legend}`,
          ).toEqual([]);
        }
      }
    }
  });
});

describe('what the dashboards count', () => {
  // Scrapes (every 5 s per instance) and probes would otherwise be most of the requests an idle stage answers.
  const notBusiness = 'http_route!~"/metrics|/health/.*|/registry/targets"';

  it("leave Prometheus's scrapes and the health probes out of every server-request query", () => {
    const served = queries.filter((q) => q.expr.includes('http_server_request_duration_seconds'));
    expect(served.map((q) => q.dashboard)).toEqual(expect.arrayContaining(['red.json', 'instances.json']));
    for (const q of served) {
      const selectors = [...q.expr.matchAll(/http_server_request_duration_seconds_\w+(\{[^}]*\})?/g)];
      for (const [whole, matchers] of selectors) {
        expect(matchers ?? '', `${q.dashboard}, ${q.panel}: ${whole}`).toContain(notBusiness);
      }
    }
  });

  it('show errors and p99 latency per service and per route', () => {
    const red = queries.filter((q) => q.dashboard === 'red.json');
    const grouped = (pattern: RegExp, by: string) =>
      red.filter((q) => pattern.test(q.expr) && q.expr.includes(`sum by (${by})`)).map((q) => q.panel);
    const fivexx = /http_response_status_code=~"5\.\."/;
    const p99 = /histogram_quantile\(0\.99,/;
    expect(grouped(fivexx, 'service')).toEqual(['Error ratio (5xx) by service']);
    expect(grouped(fivexx, 'service, http_route')).toEqual(['Error ratio (5xx) by service and route']);
    expect(grouped(p99, 'service, le')).toEqual(['Latency p50 / p99 by service']);
    expect(grouped(p99, 'service, http_route, le')).toEqual(['Latency p99 by service and route']);
  });

  it('count process starts by start time, not by changes() of one series', () => {
    // A restarted container or Swarm task is a new instance (new series): changes() over one series stays 0.
    for (const q of queries) expect(q.expr, `${q.dashboard}, ${q.panel}`).not.toMatch(/changes\s*\(/);
    expect(queries.filter((q) => q.panel === 'Processes started in the last hour')).toMatchObject([
      { dashboard: 'node.json', expr: expect.stringContaining('> time() - 3600') },
    ]);
  });

  it('mark every query padded with zeros, and the metric alone still uses only the contract', () => {
    expect(queries.filter((q) => q.zeroFallback).map((q) => `${q.dashboard} / ${q.panel}`)).toEqual([
      'alerts.json / Firing',
      'alerts.json / Pending',
      'instances.json / Ejections',
      'instances.json / Retries',
      'red.json / Error ratio (5xx) by service',
      'red.json / Error ratio (5xx) by service and route',
    ]);
    for (const q of queries.filter((q) => q.zeroFallback)) {
      const alone = withoutZeroFallback(q.expr);
      expect(hasZeroFallback(alone), alone).toBe(false);
      expect(alone, q.panel).not.toMatch(/\bor\b/);
    }
  });
});

describe('hasZeroFallback and withoutZeroFallback', () => {
  const cases: [string, string | undefined][] = [
    [
      'sum by (peer_service) (rate(pie_balancer_retries_total[1m])) or sum by (peer_service) (pie_registry_instances) * 0',
      'sum by (peer_service) (rate(pie_balancer_retries_total[1m]))',
    ],
    ['count(ALERTS{alertstate="firing"}) or vector(0)', 'count(ALERTS{alertstate="firing"})'],
    [
      '(sum(rate(a[1m])) or sum(rate(b[1m])) * 0) / sum(rate(b[1m]))',
      '(sum(rate(a[1m]))) / sum(rate(b[1m]))',
    ],
    ['a or b or c * 0', 'a or b'],
    ['a or b', undefined],
    ['a or b * 0.5', undefined],
    ['a or b * 0 > 1', undefined],
    ['up{instance_id="x or y * 0"}', undefined],
    ['sum(error_or_total) * 0', undefined],
  ];
  it.each(cases)('%s', (expr, alone) => {
    expect(hasZeroFallback(expr)).toBe(alone !== undefined);
    expect(withoutZeroFallback(expr)).toBe(alone ?? expr);
  });
});

describe('dashboardQueries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pie-dashboards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (panels: unknown[]) =>
    writeFileSync(join(dir, 'test.json'), JSON.stringify({ uid: 't', title: 't', panels }));

  it("walks into a collapsed row's panels and replaces the variables", () => {
    write([
      {
        type: 'row',
        title: 'Row',
        collapsed: true,
        panels: [
          {
            type: 'timeseries',
            title: 'Inner',
            targets: [{ refId: 'A', expr: 'rate(up{service=~"$service"}[$__rate_interval])' }],
          },
        ],
      },
    ]);
    expect(dashboardQueries(dir)).toEqual([
      {
        dashboard: 'test.json',
        panel: 'Inner',
        refId: 'A',
        expr: 'rate(up{service=~".*"}[1m])',
        zeroFallback: false,
      },
    ]);
  });

  it('throws on a variable it does not know, naming the panel', () => {
    for (const expr of ['up{job="$job"}', 'rate(up[$__interval_ms])', 'up{service=~"${service:csv}"}']) {
      write([{ type: 'stat', title: 'Odd one', targets: [{ refId: 'A', expr }] }]);
      expect(() => dashboardQueries(dir), expr).toThrow(/panel "Odd one".*unknown variable/);
    }
  });
});

const promtoolMissing = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error !== undefined;
// Under CI a missing promtool is a broken runner, not a reason to pass without the parse check.
const ci = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

describe.skipIf(promtoolMissing && !ci)('dashboard queries, parsed by promtool', () => {
  beforeAll(() => {
    if (promtoolMissing)
      throw new Error(
        'promtool is not on PATH, and CI is set, so the PromQL parse check may not be skipped: install ' +
          'Prometheus (Debian: apt-get install prometheus) or put its promtool on PATH',
      );
  });
  const dir = mkdtempSync(join(tmpdir(), 'pie-promql-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // promtool 2.42 cannot parse a bare expression; `check rules` parses each rule's expr and needs no server.
  // One group per query, so that an error names the dashboard and panel. YAML reads JSON as it is.
  const check = (qs: Pick<Query, 'dashboard' | 'panel' | 'refId' | 'expr'>[]) => {
    const file = join(dir, 'rules.json');
    const groups = qs.map((q, i) => ({
      name: `${q.dashboard} / ${q.panel} / ${q.refId}`,
      rules: [{ record: `dashboard:query_${i}`, expr: q.expr }],
    }));
    writeFileSync(file, JSON.stringify({ groups }));
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    return { code: run.status, output: `${run.stdout}${run.stderr}` };
  };

  it('catches an expression that does not parse (so that a pass means something)', () => {
    const run = check([{ dashboard: 'x.json', panel: 'Broken', refId: 'A', expr: 'sum by (service (up)' }]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('x.json / Broken / A');
  });

  it('parses every query, and every query without its zero fallback', () => {
    const alone = queries
      .filter((q) => q.zeroFallback)
      .map((q) => ({ ...q, refId: `${q.refId} without zero fallback`, expr: withoutZeroFallback(q.expr) }));
    const all = [...queries, ...alone];
    const run = check(all);
    expect(run.output).toContain(`${all.length} rules found`);
    expect(run.code, run.output).toBe(0);
  });
});
