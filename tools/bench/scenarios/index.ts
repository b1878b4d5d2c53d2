// The failure scenarios, by name. A later stage adds its own as one file in this folder and one line here
// (slow dependency, breaker opening and closing, registry member lost…).
import { killInstanceUnderLoad } from './kill-instance-under-load.ts';
import type { Scenario } from './types.ts';

export const SCENARIOS: Scenario[] = [killInstanceUnderLoad];

export const scenarioNamed = (name: string): Scenario | undefined => SCENARIOS.find((s) => s.name === name);
