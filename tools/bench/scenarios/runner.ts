// Running a scenario against a stage, shared by `npm run scenario` and the benchmark.
import { join } from 'node:path';
import { STAGE_ORDER } from '../../stage/stages.ts';
import { stagePorts, waitForFreePorts } from '../ports.ts';
import { formatCount } from '../stats.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './types.ts';

/** Whether a stage has what the scenario needs (its own stage, or any later one). */
export const appliesTo = (scenario: Scenario, stage: string): boolean =>
  STAGE_ORDER.indexOf(stage) >= STAGE_ORDER.indexOf(scenario.since);

export const formatFigure = (f: Figure): string =>
  `${f.label}: ${typeof f.value === 'number' ? formatCount(f.value) : f.value}${f.unit ? ` ${f.unit}` : ''}`;

export function printResult(result: ScenarioResult, log: (line: string) => void = console.log): void {
  log(`\n${result.scenario} · ${result.stage}`);
  log(`  ${result.action}`);
  for (const f of result.figures) log(`  ${formatFigure(f)}`);
  for (const n of result.notes) log(`  ${n}`);
}

export async function runScenario(
  scenario: Scenario,
  root: string,
  stage: string,
  settings: Pick<ScenarioContext, 'durationS' | 'connections' | 'log'>,
): Promise<ScenarioResult> {
  await waitForFreePorts(stagePorts(stage));
  return scenario.run({ stage, stageDir: join(root, stage), ...settings });
}
