// stage:check: for each consecutive pair of stages, every file that differs must be declared in the later
// stage's stage.json "changes", and every declaration must still match something. This keeps the copies honest:
// a stage differs from the previous one by exactly the capability it says it adds.
import { join } from 'node:path';
import { compareTrees, existingStages, globToRegExp, readManifest, repoRoot, usage } from './stages.ts';

if (process.argv.length > 2) usage('npm run stage:check');

const root = repoRoot();
const stages = existingStages(root);
if (stages.length === 0) {
  console.error(`no stage folders (demo01, demo02, ...) in ${root}`);
  process.exit(1);
}
if (stages.length === 1) {
  console.log(`only ${stages[0]} exists: nothing to compare`);
  process.exit(0);
}

let problems = 0;
for (let i = 1; i < stages.length; i++) {
  const [prev, next] = [stages[i - 1], stages[i]];
  const pair = `${prev} → ${next}`;
  let declared: string[];
  try {
    declared = readManifest(join(root, next)).changes;
  } catch (e) {
    console.log(`${pair}: ${(e as Error).message}`);
    problems++;
    continue;
  }
  const changes = compareTrees(join(root, prev), join(root, next));
  const entries = declared.map((entry) => ({ entry, re: globToRegExp(entry) }));
  // stage.json always differs (name, number, changes), so it never needs declaring.
  const undeclared = changes.filter(
    (c) => c.path !== 'stage.json' && !entries.some((e) => e.re.test(c.path)),
  );
  const stale = entries.filter((e) => !changes.some((c) => e.re.test(c.path)));

  if (undeclared.length === 0 && stale.length === 0) {
    console.log(`${pair}: ok (${changes.length} files differ, all declared)`);
    continue;
  }
  problems += undeclared.length + stale.length;
  console.log(`${pair}: ${undeclared.length + stale.length} problem(s)`);
  for (const c of undeclared) console.log(`  undeclared (${c.status}): ${c.path}`);
  for (const e of stale)
    console.log(`  stale entry in ${next}/stage.json: "${e.entry}" matches no file that differs`);
}

if (problems === 0) {
  console.log('stage:check: all stages consistent');
} else {
  console.log(
    `stage:check: ${problems} problem(s). Declare files a stage changes in its stage.json "changes",` +
      ' make undeclared files identical to the previous stage (npm run stage:carry helps), and remove stale entries.',
  );
}
process.exit(problems === 0 ? 0 : 1);
