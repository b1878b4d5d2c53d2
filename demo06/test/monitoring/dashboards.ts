/**
 * Readers of the Grafana files in infra/grafana/: every query the dashboards send, with Grafana's variables
 * replaced by fixed values so that Prometheus (or promtool) can run it as is, and every datasource they name.
 * Shared by the static test beside this file and by the live test that runs each query against Prometheus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const grafanaDir = fileURLToPath(new URL('../../infra/grafana/', import.meta.url));
export const dashboardsDir = join(grafanaDir, 'dashboards');
export const datasourceFile = join(grafanaDir, 'provisioning', 'datasources', 'prometheus.yml');

/**
 * What each variable stands for: `$service` is the "All" value (its allValue `.*`); the intervals are what
 * Grafana would pick for the default range (last 15 minutes) with the 5 s scrape interval. A dashboard that
 * uses any other variable fails here, so the live test never sends an unsubstituted query.
 */
export const variableValues: Readonly<Record<string, string>> = {
  service: '.*',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '15m',
};

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef | string | null;
  [key: string]: unknown;
}

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DatasourceRef | string | null;
  targets?: Target[];
  /** A row's panels (Grafana nests them only while the row is collapsed). */
  panels?: Panel[];
  [key: string]: unknown;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: {
    list?: { name?: string; datasource?: DatasourceRef | string | null; [key: string]: unknown }[];
  };
  [key: string]: unknown;
}

export interface LoadedDashboard {
  file: string;
  json: Dashboard;
}

export interface Query {
  /** The dashboard's file name, e.g. `red.json`. */
  dashboard: string;
  panel: string;
  refId: string;
  /** The expression with every variable replaced (see variableValues). */
  expr: string;
  /**
   * True when part of the answer is a stand-in zero (see hasZeroFallback): data for such a query proves only
   * that the fallback has series; run withoutZeroFallback(expr) to check the metric itself.
   */
  zeroFallback: boolean;
}

/** Every dashboard file of the folder, parsed; a file that is not JSON throws, naming it. */
export function loadDashboards(dir: string = dashboardsDir): LoadedDashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      try {
        return { file, json: JSON.parse(text) as Dashboard };
      } catch (err) {
        throw new Error(`${file}: not JSON: ${(err as Error).message}`, { cause: err });
      }
    });
}

/** Every panel of a dashboard, rows included, with the panels a collapsed row holds. */
export function allPanels(dashboard: Dashboard): Panel[] {
  const walk = (panels: Panel[] = []): Panel[] => panels.flatMap((p) => [p, ...walk(p.panels)]);
  return walk(dashboard.panels);
}

// `${name}`, `${name:format}`, `[[name]]` and `$name`: the forms Grafana interpolates.
const variablePattern = /\$\{([^}]*)\}|\[\[([^\]]*)\]\]|\$(\w+)/g;

/**
 * Replaces every variable by its value in variableValues; any other variable (or a format such as
 * `${service:csv}`, whose value would differ) throws, naming where it is.
 */
export function substitute(expr: string, where: string): string {
  return expr.replace(variablePattern, (whole, braced?: string, bracketed?: string, plain?: string) => {
    const name = braced ?? plain;
    const value = bracketed === undefined && name !== undefined ? variableValues[name] : undefined;
    if (value === undefined) throw new Error(`${where}: unknown variable ${whole}`);
    return value;
  });
}

/** Every target's query of every dashboard, variables replaced. Panels without targets (rows, text) have none. */
export function dashboardQueries(dir: string = dashboardsDir): Query[] {
  return loadDashboards(dir).flatMap(({ file, json }) =>
    allPanels(json).flatMap((panel) =>
      (panel.targets ?? []).map((target, i) => {
        const panelTitle = panel.title ?? `panel ${panel.id ?? '?'}`;
        const refId = target.refId ?? String(i);
        const where = `${file}, panel "${panelTitle}", target ${refId}`;
        if (typeof target.expr !== 'string' || target.expr.trim() === '')
          throw new Error(`${where}: no expr`);
        const expr = substitute(target.expr, where);
        return { dashboard: file, panel: panelTitle, refId, expr, zeroFallback: hasZeroFallback(expr) };
      }),
    ),
  );
}

export interface DatasourceUse {
  dashboard: string;
  /** Where the reference is: `panel "Title"`, `panel "Title", target A`, or `variable service`. */
  where: string;
  type: string | undefined;
  /** undefined when the panel names no datasource, or names it the old way (by name, as a string). */
  uid: string | undefined;
}

const ref = (ds: DatasourceRef | string | null | undefined) =>
  typeof ds === 'object' && ds !== null
    ? { type: ds.type, uid: ds.uid }
    : { type: undefined, uid: undefined };

/**
 * Every datasource the dashboards name: on each panel that queries (rows carry none), each target, and each
 * query variable.
 */
export function datasourceUses(dir: string = dashboardsDir): DatasourceUse[] {
  return loadDashboards(dir).flatMap(({ file, json }) => [
    ...allPanels(json)
      .filter((p) => p.type !== 'row')
      .flatMap((panel) => [
        { dashboard: file, where: `panel "${panel.title}"`, ...ref(panel.datasource) },
        ...(panel.targets ?? []).map((t) => ({
          dashboard: file,
          where: `panel "${panel.title}", target ${t.refId}`,
          ...ref(t.datasource),
        })),
      ]),
    ...(json.templating?.list ?? [])
      .filter((v) => v.type === 'query')
      .map((v) => ({ dashboard: file, where: `variable ${v.name}`, ...ref(v.datasource) })),
  ]);
}

/** The distinct datasource uids the dashboards name (undefined stands for a missing one). */
export function datasourceUids(dir: string = dashboardsDir): (string | undefined)[] {
  return [...new Set(datasourceUses(dir).map((u) => u.uid))];
}

/** The uid of the one datasource that provisioning creates. */
export function provisionedDatasourceUid(file: string = datasourceFile): string {
  const { datasources } = parseYaml(readFileSync(file, 'utf8')) as { datasources?: { uid?: string }[] };
  const uid = datasources?.length === 1 ? datasources[0]?.uid : undefined;
  if (uid === undefined) throw new Error(`${file}: expected one datasource with a uid`);
  return uid;
}

/**
 * True for queries over `ALERTS` that come back empty while no alert is pending or firing (ALERTS has no
 * series for an inactive alert). A live test asserting data for these must first raise an alert.
 */
export function needsActiveAlert(expr: string): boolean {
  return /\bALERTS\b/.test(expr) && !/\bor\s+vector\s*\(/.test(expr);
}

/** Where `or` operands that supply only zeros are: `or vector(0)`, and `or <anything> * 0`. */
function zeroFallbacks(expr: string): { start: number; end: number }[] {
  // For each position: whether it is outside string literals, and its bracket depth (a bracket counts as outside
  // its own group). Enough to find an operand's end without a PromQL parser.
  const code: boolean[] = [];
  const depth: number[] = [];
  let d = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote !== undefined) {
      code[i] = false;
      depth[i] = d;
      if (c === '\\' && i + 1 < expr.length) {
        code[i + 1] = false;
        depth[i + 1] = d;
        i++;
      } else if (c === quote) quote = undefined;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') d--;
    code[i] = c !== '"' && c !== "'" && c !== '`';
    depth[i] = d;
    if (!code[i]) quote = c;
    if (c === '(' || c === '[' || c === '{') d++;
  }
  const isOr = (i: number) =>
    code[i] === true &&
    code[i + 1] === true &&
    /^or$/i.test(expr.slice(i, i + 2)) &&
    !/[\w:]/.test(expr[i - 1] ?? ' ') &&
    !/[\w:]/.test(expr[i + 2] ?? ' ');
  const found: { start: number; end: number }[] = [];
  for (let i = 0; i < expr.length; i++) {
    if (!isOr(i)) continue;
    // `or` binds loosest and from the left: its right operand runs to the next `or` at its depth, or to the
    // bracket that closes its group.
    let end = i + 2;
    while (end < expr.length && !(depth[end]! < depth[i]!) && !(depth[end] === depth[i] && isOr(end))) end++;
    const operand = expr.slice(i + 2, end);
    if (/^\s*vector\s*\(\s*0\s*\)\s*$/i.test(operand) || /\*\s*0(?:\.0*)?\s*$/.test(operand)) {
      let start = i;
      while (start > 0 && /\s/.test(expr[start - 1]!)) start--;
      found.push({ start, end });
    }
  }
  return found;
}

/**
 * True when the expression pads its answer with zeros (`... or vector(0)`, `... or other * 0`), so that a panel
 * shows 0 rather than no data. Such a query answers even when the metric it is about has no series at all (a
 * counter never incremented, or never exported), so data for it proves nothing about that metric.
 */
export function hasZeroFallback(expr: string): boolean {
  return zeroFallbacks(expr).length > 0;
}

/**
 * The expression with each zero fallback taken out: the metric alone, empty unless it has series. A fallback
 * nested in another is removed with it.
 */
export function withoutZeroFallback(expr: string): string {
  let out = '';
  let from = 0;
  for (const { start, end } of zeroFallbacks(expr)) {
    if (start < from) continue;
    out += expr.slice(from, start);
    from = end;
  }
  return out + expr.slice(from);
}
