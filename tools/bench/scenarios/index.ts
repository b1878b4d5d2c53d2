// The failure scenarios. Each stage keeps those it brings in its own `scenarios/` folder, one file each that
// default-exports a Scenario; every later stage, a copy, has them too (and may change its copy).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existingStages } from '../../stage/stages.ts';
import type { Scenario } from './types.ts';

export interface FoundScenario {
  name: string;
  description: string;
  /** Every stage that has it, in talk order, each with its own copy; the first is where it comes from. */
  copies: { stage: string; scenario: Scenario }[];
}

/** Every scenario of every stage, by name, in the order the stages bring them. */
export async function findScenarios(root: string): Promise<FoundScenario[]> {
  const found = new Map<string, FoundScenario>();
  for (const stage of existingStages(root)) {
    const dir = join(root, stage, 'scenarios');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .sort()) {
      const module = (await import(pathToFileURL(join(dir, file)).href)) as { default?: Scenario };
      const scenario = module.default;
      if (typeof scenario?.run !== 'function' || typeof scenario.name !== 'string')
        throw new Error(`${stage}/scenarios/${file}: its default export is not a Scenario`);
      const entry = found.get(scenario.name) ?? {
        name: scenario.name,
        description: scenario.description,
        copies: [],
      };
      entry.copies.push({ stage, scenario });
      found.set(scenario.name, entry);
    }
  }
  return [...found.values()];
}

/** The scenario as `stage` has it, if it has it. */
export const copyIn = (found: FoundScenario, stage: string): Scenario | undefined =>
  found.copies.find((c) => c.stage === stage)?.scenario;

/** The stages that have it. */
export const stagesOf = (found: FoundScenario): string[] => found.copies.map((c) => c.stage);
