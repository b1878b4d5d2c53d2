// Running a scenario against a stage, shared by `npm run scenario` and the benchmark.
import { join } from 'node:path';
import { stagePorts, waitForFreePorts } from '../../lib/ports.ts';
import { formatCount } from '../stats.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './types.ts';

export const formatFigure = (f: Figure): string =>
  `${f.label}: ${typeof f.value === 'number' ? formatCount(f.value) : f.value}${f.unit ? ` ${f.unit}` : ''}`;

export function printResult(result: ScenarioResult, log: (line: string) => void = console.log): void {
  log(`\n${result.scenario} · ${result.stage}`);
  log(`  ${result.action}`);
  for (const f of result.figures) log(`  ${formatFigure(f)}`);
  for (const n of result.notes) log(`  ${n}`);
}

/** Runs `scenario` (a stage's own copy) against that stage, once its ports are free. */
export async function runScenario(
  scenario: Scenario,
  root: string,
  stage: string,
  settings: Pick<ScenarioContext, 'durationS' | 'connections' | 'log'>,
): Promise<ScenarioResult> {
  const stageDir = join(root, stage);
  await waitForFreePorts(stagePorts(stageDir));
  return scenario.run({ stage, stageDir, ...settings });
}
