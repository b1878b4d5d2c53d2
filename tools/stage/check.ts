// stage:check: for each consecutive pair of stages, every file that differs must be declared in the later
// stage's stage.json "changes", and every declaration must still match something. This keeps the copies honest:
// a stage differs from the previous one by exactly the capability it says it adds. Then, in every stage, no file
// but README.md, LAB.md and stage.json may tell the story (which stage this is, what comes next): see story.ts.
import { join } from 'node:path';
import { compareTrees, existingStages, globToRegExp, readManifest, repoRoot, usage } from './stages.ts';
import { storyLines } from './story.ts';

if (process.argv.length > 2) usage('npm run stage:check');

const root = repoRoot();
const stages = existingStages(root);
if (stages.length === 0) {
  console.error(`no stage folders (demo01, demo02, ...) in ${root}`);
  process.exit(1);
}
if (stages.length === 1) console.log(`only ${stages[0]} exists: nothing to compare`);

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

let told = 0;
for (const stage of stages) {
  const lines = storyLines(join(root, stage), stage);
  told += lines.length;
  if (lines.length === 0) continue;
  console.log(`${stage}: ${lines.length} line(s) tell the story outside README.md, LAB.md and stage.json`);
  for (const l of lines) console.log(`  ${stage}/${l.path}:${l.line}: ${l.what}: ${l.text}`);
}
if (told === 0) console.log('story: told only in README.md, LAB.md and stage.json, in every stage');
problems += told;

if (problems === 0) {
  console.log('stage:check: all stages consistent');
} else {
  console.log(
    `stage:check: ${problems} problem(s). Declare files a stage changes in its stage.json "changes",` +
      ' make undeclared files identical to the previous stage (npm run stage:carry helps), remove stale entries,' +
      ' and say which stage this is or what comes next in the stage README.md only.',
  );
}
process.exit(problems === 0 ? 0 : 1);
