import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureInstalled } from './lib/stage-process.ts';
import { existingStages, repoRoot } from './stage/stages.ts';

/**
 * `npm start [-- demoNN [options]]`: installs the stage if needed and runs it as its own `npm start` does; what
 * follows the stage name goes to the stage (`npm start -- demo03 --scale number-api=3`).
 */
const root = repoRoot();
const stages = existingStages(root);
const stage = process.argv[2] ?? 'demo01';
if (!stages.includes(stage)) {
  console.error(`unknown stage "${stage}"; the stages are: ${stages.join(' ')}`);
  process.exit(2);
}
const stageDir = join(root, stage);
ensureInstalled(stageDir);
const stageArgs = process.argv.slice(3);
const child = spawn('npm', ['start', ...(stageArgs.length > 0 ? ['--', ...stageArgs] : [])], {
  cwd: stageDir,
  stdio: 'inherit',
});
// Ctrl-C reaches the stage's processes directly (same terminal); wait for them to stop, then exit as they did.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
