// The benchmark's raw figures (what each round measured) and their summary (medians over the rounds, ratios
// to the baselines). Both go into the JSON file; the report and the charts are drawn from the summary.
import type { CannonResult } from './load-worker.ts';
import type { Machine, ImageSize } from './machine.ts';
import { PATHS, type PathName } from './paths.ts';
import type { ScenarioResult } from './scenarios/types.ts';
import { median, ratio } from './stats.ts';

/** A fixed JSON body from bare node:http and bare express; and node:http's through a bare node:http proxy. */
export const BASELINES = ['node:http', 'express', 'node:http proxy'] as const;

/** What the report flags: a service idling above `idleMiB`, or growing past `afterOverIdle` × its idle RSS. */
export const MEMORY_GOALS = { idleMiB: 70, afterOverIdle: 1.5 } as const;
export type BaselineName = (typeof BASELINES)[number];

export interface Settings {
  stages: string[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  scenarioDurationS: number;
}

export interface Memory {
  /** the runner, `dist/local/start-all.js` (not counted in the stage's total: in containers there is none) */
  runnerKiB?: number;
  /** resident memory of each process the runner started, by service (or program) name */
  byName: Record<string, number>;
}

export type PathOutcome = CannonResult | { error: string };
export const failed = (o: PathOutcome | undefined): o is { error: string } => o !== undefined && 'error' in o;

export interface StageRun {
  round: number;
  /** position in the round (0 = first) */
  position: number;
  /** number-api instances; 1 unless scaled */
  numberApiInstances: number;
  coldStartMs?: number;
  idle?: Memory;
  afterLoad?: Memory;
  paths: Partial<Record<PathName, PathOutcome>>;
  error?: string;
}

export interface BaselineRun {
  round: number;
  position: number;
  result?: CannonResult;
  idleKiB?: number;
  afterLoadKiB?: number;
  error?: string;
}

export interface SkippedScenario {
  scenario: string;
  stage?: string;
  skipped: string;
}

export interface Raw {
  generatedAt: string;
  machine: Machine;
  settings: Settings;
  baselines: Record<BaselineName, BaselineRun[]>;
  stages: Record<string, StageRun[]>;
  /** three number-api instances (demo03 on) */
  scaled: Record<string, StageRun[]>;
  images: Record<string, ImageSize>;
  scenarios: (ScenarioResult | SkippedScenario)[];
  /** the machine's 1-minute load average before each measurement (empty where the OS has none) */
  loadAverages?: number[];
}

export interface PathSummary {
  reqPerSec?: number;
  /** each round's figure, in round order: how much the machine's noise moved it */
  reqPerSecRuns: number[];
  p50Ms?: number;
  p99Ms?: number;
  /** summed over the rounds */
  requests: number;
  failed: number;
  rounds: number;
  vsHttp?: number;
  vsExpress?: number;
  errors: string[];
}

export interface StageSummary {
  coldStartMs?: number;
  coldStartRunsMs: number[];
  /** median per process over the rounds */
  idleKiB: Record<string, number>;
  afterLoadKiB: Record<string, number>;
  /** after load / idle, per process (of the medians above) */
  afterOverIdle: Record<string, number>;
  idleTotalKiB?: number;
  afterLoadTotalKiB?: number;
  runnerKiB?: number;
  paths: Partial<Record<PathName, PathSummary>>;
  errors: string[];
}

export interface Summary {
  baselines: Record<
    BaselineName,
    {
      reqPerSec?: number;
      reqPerSecRuns: number[];
      p50Ms?: number;
      p99Ms?: number;
      idleKiB?: number;
      afterLoadKiB?: number;
      requests: number;
    }
  >;
  stages: Record<string, StageSummary>;
  scaled: Record<string, StageSummary>;
}

const defined = <T>(values: (T | undefined)[]): T[] => values.filter((v): v is T => v !== undefined);

function memoryMedians(memories: (Memory | undefined)[]): Record<string, number> {
  const names = [...new Set(memories.flatMap((m) => Object.keys(m?.byName ?? {})))];
  const out: Record<string, number> = {};
  for (const name of names) {
    const m = median(defined(memories.map((mem) => mem?.byName[name])));
    if (m !== undefined) out[name] = Math.round(m);
  }
  return out;
}

/** After-load RSS over idle RSS, per process measured both times. */
export function growth(idleKiB: Record<string, number>, afterLoadKiB: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [name, idle] of Object.entries(idleKiB)) {
    const r = ratio(afterLoadKiB[name], idle);
    if (r !== undefined) out[name] = Math.round(r * 100) / 100;
  }
  return out;
}

/** The processes that miss a memory goal: idle above the goal, or grown too much under load. */
export function memoryMisses(s: Pick<StageSummary, 'idleKiB' | 'afterOverIdle'>): {
  idle: string[];
  growth: string[];
} {
  return {
    idle: Object.keys(s.idleKiB).filter((n) => (s.idleKiB[n] ?? 0) > MEMORY_GOALS.idleMiB * 1024),
    growth: Object.keys(s.afterOverIdle).filter(
      (n) => (s.afterOverIdle[n] ?? 0) > MEMORY_GOALS.afterOverIdle,
    ),
  };
}

const total = (memory: Memory | undefined) =>
  memory ? Object.values(memory.byName).reduce((a, b) => a + b, 0) : undefined;

function summariseStage(runs: StageRun[], baselines: Summary['baselines']): StageSummary {
  const paths: Partial<Record<PathName, PathSummary>> = {};
  for (const path of PATHS) {
    const outcomes = defined(runs.map((r) => r.paths[path]));
    if (outcomes.length === 0) continue;
    const ok = outcomes.filter((o): o is CannonResult => !failed(o));
    const reqPerSec = median(ok.map((o) => o.reqPerSec));
    paths[path] = {
      reqPerSec,
      reqPerSecRuns: ok.map((o) => Math.round(o.reqPerSec)),
      p50Ms: median(ok.map((o) => o.latencyMs.p50)),
      p99Ms: median(ok.map((o) => o.latencyMs.p99)),
      requests: ok.reduce((a, o) => a + o.requests, 0),
      failed: ok.reduce((a, o) => a + o.non2xx + o.errors, 0),
      rounds: ok.length,
      vsHttp: ratio(reqPerSec, baselines['node:http'].reqPerSec),
      vsExpress: ratio(reqPerSec, baselines.express.reqPerSec),
      errors: outcomes.filter(failed).map((o) => o.error),
    };
  }
  const coldStartRunsMs = defined(runs.map((r) => r.coldStartMs));
  const runner = median(defined(runs.map((r) => r.idle?.runnerKiB)));
  const idleKiB = memoryMedians(runs.map((r) => r.idle));
  const afterLoadKiB = memoryMedians(runs.map((r) => r.afterLoad));
  return {
    coldStartMs: median(coldStartRunsMs),
    coldStartRunsMs,
    idleKiB,
    afterLoadKiB,
    afterOverIdle: growth(idleKiB, afterLoadKiB),
    idleTotalKiB: median(defined(runs.map((r) => total(r.idle)))),
    afterLoadTotalKiB: median(defined(runs.map((r) => total(r.afterLoad)))),
    runnerKiB: runner === undefined ? undefined : Math.round(runner),
    paths,
    errors: defined(runs.map((r) => r.error)),
  };
}

export function summarise(raw: Raw): Summary {
  const baselines = {} as Summary['baselines'];
  for (const name of BASELINES) {
    const ok = defined(raw.baselines[name].map((r) => r.result));
    baselines[name] = {
      reqPerSec: median(ok.map((r) => r.reqPerSec)),
      reqPerSecRuns: ok.map((r) => Math.round(r.reqPerSec)),
      p50Ms: median(ok.map((r) => r.latencyMs.p50)),
      p99Ms: median(ok.map((r) => r.latencyMs.p99)),
      idleKiB: median(defined(raw.baselines[name].map((r) => r.idleKiB))),
      afterLoadKiB: median(defined(raw.baselines[name].map((r) => r.afterLoadKiB))),
      requests: ok.reduce((a, r) => a + r.requests, 0),
    };
  }
  const stages: Record<string, StageSummary> = {};
  for (const [stage, runs] of Object.entries(raw.stages)) stages[stage] = summariseStage(runs, baselines);
  const scaled: Record<string, StageSummary> = {};
  for (const [stage, runs] of Object.entries(raw.scaled)) scaled[stage] = summariseStage(runs, baselines);
  return { baselines, stages, scaled };
}
