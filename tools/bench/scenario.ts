// `npm run scenario` lists the failure scenarios of every stage that has some; `npm run scenario -- <name>
// [--stage demoNN] [--duration S] [--connections N]` runs one against a stage that has it (by default the first)
// and prints what happened, in numbers.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureInstalled } from '../lib/stage-process.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';
import { copyIn, findScenarios, stagesOf } from './scenarios/index.ts';
import { printResult, runScenario } from './scenarios/runner.ts';

const usageLine = 'npm run scenario -- <name> [--stage demoNN] [--duration S] [--connections N]';

function usage(problem: string): never {
  console.error(problem);
  console.error(`usage: ${usageLine}`);
  process.exit(2);
}

const root = repoRoot();
const available = existingStages(root);
const args = process.argv.slice(2);
const scenarios = await findScenarios(root);

if (args.length === 0) {
  console.log(`failure scenarios (${usageLine}):\n`);
  for (const s of scenarios)
    console.log(`  ${s.name.padEnd(28)} ${s.description} (${stagesOf(s).join(', ')})`);
  if (scenarios.length === 0) console.log('  none: no stage has a scenarios/ folder');
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

const found = scenarios.find((s) => s.name === name);
if (!found) usage(`unknown scenario "${name}"; the scenarios are: ${scenarios.map((s) => s.name).join(' ')}`);
stage ??= stagesOf(found)[0] ?? '';
if (!available.includes(stage)) usage(`unknown stage "${stage}"; the stages are: ${available.join(' ')}`);
const scenario = copyIn(found, stage);
if (!scenario) usage(`${stage} has no ${found.name}; the stages that have it: ${stagesOf(found).join(' ')}`);

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
