// `npm run scenario` lists the failure scenarios; `npm run scenario -- <name> [--stage demoNN] [--duration S]
// [--connections N]` runs one against a stage (by default the first stage that has what it needs) and prints
// what happened, in numbers.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureInstalled } from '../lib/stage-process.ts';
import { existingStages, repoRoot, STAGE_ORDER } from '../stage/stages.ts';
import { SCENARIOS, scenarioNamed } from './scenarios/index.ts';
import { appliesTo, printResult, runScenario } from './scenarios/runner.ts';

const usageLine = 'npm run scenario -- <name> [--stage demoNN] [--duration S] [--connections N]';

function usage(problem: string): never {
  console.error(problem);
  console.error(`usage: ${usageLine}`);
  process.exit(2);
}

const root = repoRoot();
const available = existingStages(root);
const args = process.argv.slice(2);

if (args.length === 0) {
  console.log(`failure scenarios (${usageLine}):\n`);
  for (const s of SCENARIOS) {
    const where = available.includes(s.since)
      ? `${s.since} on`
      : `${s.since} on — ${s.since} does not exist yet`;
    console.log(`  ${s.name.padEnd(28)} ${s.description} (${where})`);
  }
  process.exit(0);
}

let name: string | undefined;
let stage: string | undefined;
let durationS = 9;
let connections = 8;
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? '';
  const number = (min: number) => {
    const n = Number(args[++i]);
    if (!Number.isFinite(n) || n < min) usage(`${arg} needs a number ≥ ${min}`);
    return n;
  };
  if (arg === '--stage') stage = args[++i];
  else if (arg === '--duration') durationS = number(3);
  else if (arg === '--connections') connections = Math.round(number(1));
  else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
  else name = arg;
}

const scenario = scenarioNamed(name ?? '');
if (!scenario)
  usage(`unknown scenario "${name}"; the scenarios are: ${SCENARIOS.map((s) => s.name).join(' ')}`);
if (stage === undefined) {
  if (!available.includes(scenario.since)) {
    // Not an error: the scenario is written ahead of its stage.
    console.log(`${scenario.name} needs ${scenario.since}, which does not exist yet`);
    process.exit(0);
  }
  stage = scenario.since;
}
if (!STAGE_ORDER.includes(stage) || !available.includes(stage)) {
  usage(`unknown stage "${stage}"; the stages are: ${available.join(' ')}`);
}
if (!appliesTo(scenario, stage))
  usage(`${scenario.name} needs ${scenario.since} or later; ${stage} is earlier`);

const stageDir = join(root, stage);
ensureInstalled(stageDir);
execFileSync('npm', ['run', '-s', 'build'], { cwd: stageDir, stdio: 'inherit' });
try {
  const result = await runScenario(scenario, root, stage, {
    durationS,
    connections,
    log: (line) => console.log(`${scenario.name} · ${stage}: ${line}`),
  });
  printResult(result);
} catch (err) {
  console.error(`${scenario.name} · ${stage} failed: ${(err as Error).message}`);
  process.exit(1);
}
