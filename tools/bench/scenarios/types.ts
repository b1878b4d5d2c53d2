// What a failure scenario is. Each is one file in the `scenarios/` folder of the stage that brings it (index.ts).

export interface ScenarioContext {
  /** the stage it runs against, e.g. `demo03`, and its folder (installed and built) */
  stage: string;
  stageDir: string;
  /** seconds of load; a scenario scales its own timings from it */
  durationS: number;
  connections: number;
  log: (line: string) => void;
}

/** One figure of the outcome, as printed and reported: `{ label: 'requests sent', value: 1234 }`. */
export interface Figure {
  label: string;
  value: number | string;
  /** e.g. `ms`, `%`; empty for a count */
  unit?: string;
}

export interface ScenarioResult {
  scenario: string;
  stage: string;
  /** one sentence: what was done */
  action: string;
  figures: Figure[];
  /** anything worth reading that is not a number (share per instance before and after, and the like) */
  notes: string[];
}

export interface Scenario {
  name: string;
  /** what a speaker shows with it, in one line */
  description: string;
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>;
}
