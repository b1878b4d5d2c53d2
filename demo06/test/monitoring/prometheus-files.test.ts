/**
 * The stage's Prometheus files (infra/prometheus/), as promtool reads them: both configs (which also checks the
 * rule files they name), the alert rules, and the rules' unit tests in alerts.test.yml. promtool only reads files
 * and listens on nothing.
 *
 *   npx vitest run test/monitoring/prometheus-files.test.ts
 *
 * Without promtool on the PATH (Debian: apt-get install prometheus; or the binary from a Prometheus release, 2.28
 * or later) the promtool checks are skipped with the reason, except under CI=true, where they fail. The checks of
 * the files' contents need no promtool and always run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const dir = fileURLToPath(new URL('../../infra/prometheus/', import.meta.url));
const ci = process.env.CI === 'true';
const readYaml = (file: string): any => parseYaml(readFileSync(join(dir, file), 'utf8'));

const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const missing =
  probe.error !== undefined
    ? `promtool is not on the PATH (${probe.error.message}); Debian: apt-get install prometheus`
    : undefined;
if (missing !== undefined) {
  console.warn(`promtool checks ${ci ? 'FAIL (CI=true)' : 'SKIPPED'}: ${missing}`);
}

/**
 * Runs promtool in the folder of the files; the output says what ran and everything promtool printed. Without
 * promtool (only reached under CI=true) every check fails on its own: a failing beforeAll would report them as
 * skipped instead.
 */
function promtool(...args: string[]) {
  if (missing !== undefined) throw new Error(`CI=true, but ${missing}`);
  const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const output = [
    `promtool ${args.join(' ')} (in ${dir}) ended with ${run.status ?? run.signal ?? run.error?.message}:`,
    (run.stdout ?? '').trim(),
    (run.stderr ?? '').trim(),
  ]
    .filter((part) => part !== '')
    .join('\n');
  return { status: run.status, output };
}

describe.skipIf(missing !== undefined && !ci)('the Prometheus files, checked by promtool', () => {
  it.each(['prometheus.yml', 'prometheus.containers.yml'])(
    '%s is a valid config, its rule files too',
    (file) => {
      const { status, output } = promtool('check', 'config', file);
      expect(status, output).toBe(0);
    },
  );

  it('alerts.yml holds valid rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(status, output).toBe(0);
  });

  it('the alerts fire exactly when alerts.test.yml says they should', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(status, output).toBe(0);
  });
});

describe('the Prometheus files', () => {
  const alerts: string[] = readYaml('alerts.yml').groups.flatMap((group: any) =>
    group.rules.filter((rule: any) => rule.alert !== undefined).map((rule: any) => rule.alert as string),
  );
  const cases: { alertname: string; exp_alerts?: unknown[] }[] = readYaml('alerts.test.yml').tests.flatMap(
    (test: any) => test.alert_rule_test ?? [],
  );

  it('alerts.yml has alerts, each with a severity, a summary and a description', () => {
    expect(alerts.length).toBeGreaterThan(0);
    for (const group of readYaml('alerts.yml').groups) {
      for (const rule of group.rules.filter((r: any) => r.alert !== undefined)) {
        expect(rule.for, `${rule.alert}: for`).toBeDefined();
        expect(rule.labels?.severity, `${rule.alert}: labels.severity`).toMatch(/^(warning|critical)$/);
        expect(rule.annotations?.summary, `${rule.alert}: annotations.summary`).toBeTruthy();
        expect(rule.annotations?.description, `${rule.alert}: annotations.description`).toBeTruthy();
      }
    }
  });

  it('alerts.test.yml has, for every alert, a case where it fires and one where it does not', () => {
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert);
      expect(
        own.filter((c) => (c.exp_alerts ?? []).length > 0),
        `${alert}: no case where it fires`,
      ).not.toHaveLength(0);
      expect(
        own.filter((c) => (c.exp_alerts ?? []).length === 0),
        `${alert}: no case where it stays quiet`,
      ).not.toHaveLength(0);
    }
  });

  // promtool passes a case that expects no alert of a name no rule has: a misspelt name would test nothing.
  it('alerts.test.yml names only alerts that alerts.yml has', () => {
    expect(cases.map((c) => c.alertname).filter((name) => !alerts.includes(name))).toEqual([]);
  });

  it('the two configs differ only in where the web service lists the targets', () => {
    const local = readYaml('prometheus.yml');
    const containers = readYaml('prometheus.containers.yml');
    const sd = (config: any) =>
      config.scrape_configs.find((job: any) => job.job_name === 'pie').http_sd_configs[0];
    expect(sd(local).url).toBe('http://localhost:8080/registry/targets');
    expect(sd(containers).url).toBe('http://web:8080/registry/targets');
    sd(containers).url = sd(local).url;
    expect(containers).toEqual(local);
  });
});
