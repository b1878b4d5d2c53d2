// `npm run bench [-- demo01 demo03] [--rounds 3] [--duration 5] [--warmup 1] [--connections 10]
//   [--scenario-duration 9] [--no-scenarios] [--out docs]`
//
// Measures every chosen stage in one run, on this machine, interleaved: in each round every stage (and the
// three baselines) is started, measured and stopped in turn, in an order rotated from round to round, so that
// a noisy machine blurs every stage alike. Then writes the report (see report.ts). Timings are never asserted
// on anywhere: this measures, it does not test.
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stagePorts, waitForFreePorts } from '../lib/ports.ts';
import { ensureInstalled, type LocalStage, startLocalStage } from '../lib/stage-process.ts';
import { callerCwd, existingStages, repoRoot, STAGE_ORDER } from '../stage/stages.ts';
import { runLoad } from './load.ts';
import type { CannonResult } from './load-worker.ts';
import { dockerAnswers, imageSize, machine } from './machine.ts';
import {
  BASELINES,
  type BaselineName,
  type BaselineRun,
  type Memory,
  type Raw,
  type Settings,
  type StageRun,
  summarise,
} from './model.ts';
import { cannonJob, PATH_LABELS, PATHS, type PathName, setUpPath, stageNumber } from './paths.ts';
import { rssOf, stageMemory } from './procs.ts';
import { writeReport } from './report.ts';
import { copyIn, findScenarios, stagesOf } from './scenarios/index.ts';
import { printResult, runScenario } from './scenarios/runner.ts';
import { formatCount, formatMiB, rotate } from './stats.ts';

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error(
    'usage: npm run bench [-- demo01 demo03 …] [--rounds N] [--duration S] [--warmup S] [--connections N] ' +
      '[--scenario-duration S] [--no-scenarios] [--out DIR]',
  );
  process.exit(2);
}

export function parseArgs(
  argv: string[],
  available: string[],
  root: string,
): Settings & { out: string; scenarios: boolean } {
  const settings = {
    stages: [] as string[],
    rounds: 3,
    durationS: 5,
    warmupS: 1,
    connections: 10,
    scenarioDurationS: 9,
    scenarios: true,
    out: join(root, 'docs'),
  };
  const numberOption = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min) usage(`${name} needs a number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--rounds':
        settings.rounds = Math.round(numberOption(flag, value(), 1));
        break;
      case '--duration':
        settings.durationS = numberOption(flag, value(), 1);
        break;
      case '--warmup':
        settings.warmupS = numberOption(flag, value(), 0);
        break;
      case '--connections':
        settings.connections = Math.round(numberOption(flag, value(), 1));
        break;
      case '--scenario-duration':
        settings.scenarioDurationS = numberOption(flag, value(), 3);
        break;
      case '--no-scenarios':
        settings.scenarios = false;
        break;
      case '--out':
        settings.out = resolve(callerCwd(), value() ?? usage('--out needs a folder'));
        break;
      default:
        if (flag?.startsWith('-')) usage(`unknown option ${flag}`);
        if (!available.includes(flag ?? '')) {
          usage(`unknown stage "${flag}"; the stages are: ${available.join(' ')}`);
        }
        settings.stages.push(flag ?? '');
    }
  }
  if (settings.stages.length === 0) settings.stages = available;
  settings.stages = STAGE_ORDER.filter((s) => settings.stages.includes(s));
  return settings;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const summaryLine = (r: CannonResult) =>
  `${formatCount(r.reqPerSec)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms` +
  (r.non2xx + r.errors > 0 ? `, ${r.non2xx + r.errors} failed` : '');

const memoryTotal = (m: Memory) => Object.values(m.byName).reduce((a, b) => a + b, 0);

async function measureStage(
  stageDir: string,
  stage: string,
  scaled: boolean,
  settings: Settings,
  position: number,
  round: number,
  log: (line: string) => void,
): Promise<StageRun> {
  const run: StageRun = { round, position, numberApiInstances: scaled ? 3 : 1, paths: {} };
  let running: LocalStage | undefined;
  try {
    await waitForFreePorts(stagePorts(stageDir));
    running = await startLocalStage(stageDir, 90_000, {
      build: false,
      args: scaled ? ['--scale', 'number-api=3'] : [],
      // The creates of one path outnumber a catalog's default bound (10 000 items): past it every create would be a
      // quick 507, so the bound is raised for the measurement, and the memory after load shows what the data costs.
      env: { CATALOG_MAX_ITEMS: '1000000' },
      // Only the tail is kept, for the message when the stage fails to start (shown up to 2 000 characters): the
      // runner's output is read all through the load, and keeping 200 000 characters cost this process ~100 µs
      // of CPU per book create (the string copied on every chunk), taken from the stage it measures.
      outputLimit: 4_000,
    });
    run.coldStartMs = running.readyAfterMs;
    const pid = running.child.pid ?? 0;
    await sleep(1000);
    run.idle = stageMemory(pid);
    log(
      `cold start ${running.readyAfterMs} ms; idle ${formatMiB(memoryTotal(run.idle))} MiB over ` +
        `${Object.keys(run.idle.byName).length} processes`,
    );
    const paths: PathName[] = scaled ? ['catalog-read', 'book-create'] : [...PATHS];
    for (const path of paths) {
      try {
        const setup = await setUpPath(stage, path, settings.connections);
        const result = await runLoad(cannonJob(setup, settings));
        run.paths[path] = result;
        log(`${PATH_LABELS[path]}: ${summaryLine(result)}`);
      } catch (err) {
        run.paths[path] = { error: (err as Error).message.split('\n')[0] ?? 'failed' };
        log(`${PATH_LABELS[path]}: FAILED ${(err as Error).message}`);
      }
    }
    run.afterLoad = stageMemory(pid);
    log(`after load ${formatMiB(memoryTotal(run.afterLoad))} MiB`);
  } catch (err) {
    run.error = (err as Error).message.split('\n')[0];
    log(`FAILED: ${(err as Error).message.slice(0, 2000)}`);
  } finally {
    await running?.stop();
  }
  return run;
}

const baselineServer = fileURLToPath(new URL('./baseline-server.mjs', import.meta.url));

interface BaselineProcess {
  pid: number;
  port: number;
  stop: () => Promise<void>;
}

/** `baseline-server.mjs <args>`, once it listens. */
async function startBaselineServer(args: string[], name: string): Promise<BaselineProcess> {
  const child = spawn(process.execPath, [baselineServer, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async () => {
    const exited = new Promise((done) => child.once('exit', done));
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    kill();
    process.removeListener('exit', kill);
  };
  try {
    const port = await new Promise<number>((done, fail) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (line: string) => {
        const m = /LISTENING (\d+)/.exec(line);
        if (m) done(Number(m[1]));
      });
      child.once('exit', (code) => fail(new Error(`the ${name} baseline exited (${code})`)));
    });
    return { pid: child.pid ?? 0, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A baseline measured where a client meets it: the server itself, or the proxy in front of node:http's. */
async function measureBaseline(
  name: BaselineName,
  settings: Settings,
  position: number,
  round: number,
  log: (line: string) => void,
): Promise<BaselineRun> {
  const run: BaselineRun = { round, position };
  const started: BaselineProcess[] = [];
  try {
    let front = await startBaselineServer([name === 'express' ? 'express' : 'http'], name);
    started.push(front);
    if (name === 'node:http proxy') {
      front = await startBaselineServer(['proxy', String(front.port)], name);
      started.push(front);
    }
    await sleep(500);
    run.idleKiB = rssOf(front.pid);
    run.result = await runLoad(
      cannonJob({ url: `http://127.0.0.1:${front.port}`, path: '/', method: 'GET', body: 'none' }, settings),
    );
    run.afterLoadKiB = rssOf(front.pid);
    log(`${summaryLine(run.result)}; RSS ${formatMiB(run.idleKiB)} → ${formatMiB(run.afterLoadKiB)} MiB`);
  } catch (err) {
    run.error = (err as Error).message;
    log(`FAILED: ${run.error}`);
  } finally {
    for (const process of started.reverse()) await process.stop();
  }
  return run;
}

type Unit = { kind: 'baseline'; name: BaselineName } | { kind: 'stage'; stage: string; scaled: boolean };
const unitName = (u: Unit) =>
  u.kind === 'baseline' ? u.name : u.scaled ? `${u.stage} (number-api ×3)` : u.stage;

async function main() {
  const root = repoRoot();
  const available = existingStages(root);
  const options = parseArgs(process.argv.slice(2), available, root);
  const { out, scenarios: withScenarios, ...settings } = options;
  const started = Date.now();
  const m = machine();
  console.log(
    `benchmark: ${settings.stages.join(', ')} · ${settings.rounds} round(s) · ${settings.durationS} s per path ` +
      `(+${settings.warmupS} s warm-up) · ${settings.connections} connections\n` +
      `machine: ${m.model ? `${m.model}, ` : ''}${m.cpu}, ${m.cores} cores, ${formatCount(m.memoryMiB)} MiB, Node ${m.node}`,
  );

  for (const stage of settings.stages) {
    const dir = join(root, stage);
    ensureInstalled(dir);
    console.log(`building ${stage}`);
    execFileSync('npm', ['run', '-s', 'build'], { cwd: dir, stdio: 'inherit' });
  }

  const units: Unit[] = [
    ...BASELINES.map((name): Unit => ({ kind: 'baseline', name })),
    ...settings.stages.map((stage): Unit => ({ kind: 'stage', stage, scaled: false })),
    ...settings.stages
      .filter((s) => stageNumber(s) >= 3 && stageNumber(s) < 6)
      .map((stage): Unit => ({ kind: 'stage', stage, scaled: true })),
  ];
  const raw: Raw = {
    generatedAt: new Date().toISOString(),
    machine: m,
    settings,
    baselines: { 'node:http': [], express: [], 'node:http proxy': [] },
    stages: Object.fromEntries(settings.stages.map((s) => [s, []])),
    scaled: {},
    images: {},
    scenarios: [],
    loadAverages: [],
  };

  for (let round = 0; round < settings.rounds; round++) {
    const order = rotate(units, round);
    console.log(`\n━━ round ${round + 1}/${settings.rounds}: ${order.map(unitName).join(' → ')}`);
    for (const [position, unit] of order.entries()) {
      const label = unitName(unit);
      const [load] = loadavg();
      if (load !== undefined && load > 0) raw.loadAverages?.push(Math.round(load * 100) / 100);
      const log = (line: string) => console.log(`[${round + 1}/${settings.rounds}] ${label}: ${line}`);
      if (unit.kind === 'baseline') {
        raw.baselines[unit.name].push(await measureBaseline(unit.name, settings, position, round, log));
      } else {
        const run = await measureStage(
          join(root, unit.stage),
          unit.stage,
          unit.scaled,
          settings,
          position,
          round,
          log,
        );
        (unit.scaled ? (raw.scaled[unit.stage] ??= []) : (raw.stages[unit.stage] ??= [])).push(run);
      }
    }
  }

  // Scenarios: every scenario on every chosen stage that has what it needs.
  if (withScenarios) {
    for (const found of await findScenarios(root)) {
      const stages = settings.stages.filter((s) => copyIn(found, s) !== undefined);
      if (stages.length === 0) {
        raw.scenarios.push({
          scenario: found.name,
          skipped: `runs on ${stagesOf(found).join(', ')}, none of which was measured (skipped)`,
        });
        continue;
      }
      for (const stage of stages) {
        const scenario = copyIn(found, stage)!;
        console.log(`\n━━ scenario ${scenario.name} · ${stage}`);
        try {
          const result = await runScenario(scenario, root, stage, {
            durationS: settings.scenarioDurationS,
            connections: Math.min(settings.connections, 8),
            log: (line) => console.log(`${scenario.name} · ${stage}: ${line}`),
          });
          printResult(result);
          raw.scenarios.push(result);
        } catch (err) {
          console.error(`${scenario.name} · ${stage} FAILED: ${(err as Error).message}`);
          raw.scenarios.push({
            scenario: scenario.name,
            stage,
            skipped: `failed: ${(err as Error).message.split('\n')[0]}`,
          });
        }
      }
    }
  }

  const daemon = dockerAnswers();
  for (const stage of settings.stages) raw.images[stage] = imageSize(stage, daemon);

  const summary = summarise(raw);
  const files = await writeReport(out, raw, summary);
  console.log(`\nwrote ${Object.values(files).join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  const ports = [...new Set(settings.stages.flatMap((stage) => stagePorts(join(root, stage))))];
  await waitForFreePorts(ports, 5000).catch((err) => console.error(err.message));
}

// Ctrl-C or a kill: exit through 'exit', whose handlers stop the stage and the load that are running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    process.exit(130);
  });
}
await main();
