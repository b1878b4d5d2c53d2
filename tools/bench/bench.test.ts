// The benchmark runs and writes a well-formed report. Tiny durations, one stage, one round: this checks the
// tool, never the figures (timings are never test assertions).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portFree, servicePorts } from '../lib/ports.ts';
import { repoRoot } from '../stage/stages.ts';
import { PATH_TITLES, PATHS } from './paths.ts';
import { xmlProblems } from './xml-check.ts';

const root = repoRoot();
const out = mkdtempSync(join(tmpdir(), 'pie-bench-'));
let exitCode: number | null = null;
let output = '';
let bench: ReturnType<typeof spawn> | undefined;

beforeAll(async () => {
  const child = (bench = spawn(
    process.execPath,
    ['tools/bench/bench.ts', 'demo01', '--rounds', '1', '--duration', '1', '--warmup', '0', '--out', out],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  ));
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  exitCode = await new Promise((done) => child.once('exit', done));
}, 300_000);

afterAll(async () => {
  // Should it still run (the test timed out), SIGTERM makes it stop the stage it started.
  if (bench && bench.exitCode === null && bench.signalCode === null) {
    const exited = new Promise((done) => bench?.once('exit', done));
    bench.kill('SIGTERM');
    await exited;
  }
  rmSync(out, { recursive: true, force: true });
}, 30_000);

describe('npm run bench (demo01, one round of one second)', () => {
  it('runs to the end', () => {
    expect(exitCode, output).toBe(0);
  });

  it('writes the raw figures as JSON of the expected shape', () => {
    const json = JSON.parse(readFileSync(join(out, 'performance.json'), 'utf8'));
    expect(json.settings).toMatchObject({ stages: ['demo01'], rounds: 1, durationS: 1 });
    expect(json.machine.cores).toBeGreaterThan(0);
    for (const name of ['node:http', 'express', 'node:http proxy']) {
      expect(json.baselines[name]).toHaveLength(1);
      expect(json.baselines[name][0].result.requests).toBeGreaterThan(0);
      expect(json.summary.baselines[name].reqPerSec).toBeGreaterThan(0);
    }
    const [run] = json.stages.demo01;
    expect(run.error).toBeUndefined();
    expect(run.coldStartMs).toBeGreaterThan(0);
    expect(Object.keys(run.idle.byName).sort()).toEqual(
      ['book-api', 'cd-api', 'dvd-api', 'inventory-api', 'number-api', 'shoppingcart-api', 'web'].sort(),
    );
    for (const kib of Object.values(run.afterLoad.byName)) expect(kib).toBeGreaterThan(0);
    expect(Object.keys(json.summary.stages.demo01.afterOverIdle).sort()).toEqual(
      Object.keys(run.idle.byName).sort(),
    );
    for (const path of PATHS) {
      expect(run.paths[path].requests, path).toBeGreaterThan(0);
      expect(run.paths[path].ok, path).toBeGreaterThan(0);
      expect(json.summary.stages.demo01.paths[path].vsHttp, path).toBeGreaterThan(0);
      expect(json.summary.stages.demo01.paths[path].vsExpress, path).toBeGreaterThan(0);
    }
    expect(json.images.demo01.image).toBe('microservice-pie/demo01');
    expect(json.scenarios.map((s: any) => s.scenario)).toContain('kill-instance-under-load');
  });

  it('writes the report with its tables and the charts it refers to', () => {
    const md = readFileSync(join(out, 'performance.md'), 'utf8');
    for (const heading of [
      '### Cold start',
      '### The physical-limit baselines',
      '### Throughput and latency',
      '### Memory',
      '### Three instances',
      '### Image size',
      '### Failure scenarios',
    ]) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('<!-- bench:begin');
    expect(md).toContain('<!-- bench:end -->');
    expect(md).toMatch(/\| demo01 +\| +[\d ]+ \|/);
    for (const path of PATHS) expect(md).toContain(`**${PATH_TITLES[path]}**`);
    expect(md).toContain('demo01 after/idle');
    expect(md).toContain('](performance.svg)');
    expect(md).toContain('](performance-memory.svg)');
    for (const file of ['performance.svg', 'performance-memory.svg']) {
      const svg = readFileSync(join(out, file), 'utf8');
      expect(svg.startsWith('<svg'), file).toBe(true);
      expect(xmlProblems(svg), file).toEqual([]);
    }
  });

  it('leaves nothing running: the stage ports are free again', async () => {
    for (const port of Object.values(servicePorts)) expect(await portFree(port), `port ${port}`).toBe(true);
    expect(existsSync(out)).toBe(true);
  });
});
