// stage:diff A B [--lesson | --stat]: what stage B adds over stage A, without lockfiles, build output and
// node_modules. Paths read a/<path> b/<path>, relative to the stage, so the diff reads well on a slide (and the full
// diff `git apply`s). --lesson is the slide: B's title and capability, then the code and configuration diff alone.
import { basename, join } from 'node:path';
import {
  type Change,
  compareTrees,
  git,
  globToRegExp,
  readStageInfo,
  repoRoot,
  resolveDir,
  type StageInfo,
  usage,
} from './stages.ts';

const USAGE = 'npm run stage:diff -- <stage-or-dir> <stage-or-dir> [--lesson | --stat]';

/**
 * What the lesson view lists by name with its line counts instead of showing: the stage's story (README.md, LAB.md),
 * its manifest (stage.json) and the plumbing its tests stand on (test/support/). Everything else is shown: it is the
 * capability's own code, configuration and tests.
 */
const LISTED = ['README.md', 'LAB.md', 'stage.json', 'test/support/**'];
const listedRes = LISTED.map(globToRegExp);
const isListed = (path: string) => listedRes.some((re) => re.test(path));

type FileDiff = { path: string; text: string; added: number; deleted: number; binary: boolean };

/** One file's diff from `git diff --no-index`, with the header rewritten to stage-relative paths. */
function diffFile(a: string, b: string, change: Change): FileDiff {
  const from = change.status === 'added' ? '/dev/null' : `a/${change.path}`;
  const to = change.status === 'removed' ? '/dev/null' : `b/${change.path}`;
  const left = change.status === 'added' ? '/dev/null' : join(a, change.path);
  const right = change.status === 'removed' ? '/dev/null' : join(b, change.path);
  // Explicit options so a user's git config (colour, external diff tools, context size) cannot change the output.
  const args = [
    'diff',
    '--no-index',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--unified=3',
    left,
    right,
  ];
  const r = git(args, process.cwd());
  if (r.status > 1) throw new Error(`git diff failed on ${change.path}: ${r.stderr}`);

  const result: FileDiff = { path: change.path, text: '', added: 0, deleted: 0, binary: false };
  let header = true; // git names the files by their real paths in the lines before the first hunk
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  const out = lines.map((line) => {
    if (header) {
      if (line.startsWith('diff --git ')) return `diff --git a/${change.path} b/${change.path}`;
      if (line.startsWith('--- ')) return `--- ${from}`;
      if (line.startsWith('+++ ')) return `+++ ${to}`;
      if (line.startsWith('Binary files ')) {
        result.binary = true;
        return `Binary files ${from} and ${to} differ`;
      }
      if (line.startsWith('@@')) header = false;
      return line;
    }
    if (line.startsWith('+')) result.added++;
    else if (line.startsWith('-')) result.deleted++;
    return line;
  });
  result.text = `${out.join('\n')}\n`;
  return result;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const changedLines = (diffs: FileDiff[]) => diffs.reduce((n, d) => n + d.added + d.deleted, 0);

/** One ` path | +added -deleted` line per file, aligned. */
function printCounts(diffs: FileDiff[]): void {
  const width = Math.max(...diffs.map((d) => d.path.length));
  const addWidth = Math.max(...diffs.map((d) => String(d.added).length));
  for (const d of diffs) {
    const counts = d.binary ? 'Bin' : `+${String(d.added).padStart(addWidth)} -${d.deleted}`;
    console.log(` ${d.path.padEnd(width)} | ${counts}`);
  }
}

function printStat(diffs: FileDiff[]): void {
  printCounts(diffs);
  const added = diffs.reduce((n, d) => n + d.added, 0);
  const deleted = diffs.reduce((n, d) => n + d.deleted, 0);
  console.log(
    ` ${plural(diffs.length, 'file')} changed, ${plural(added, 'insertion')}(+), ${plural(deleted, 'deletion')}(-)`,
  );
}

/**
 * The lesson view. Its last line measures it: changed lines (insertions + deletions) shown, against those listed
 * and not shown; the share is shown / (shown + listed), rounded down, so it never overstates.
 */
function printLesson(info: StageInfo, from: string, diffs: FileDiff[]): void {
  const shown = diffs.filter((d) => !isListed(d.path));
  const listed = diffs.filter((d) => isListed(d.path));
  console.log(`${info.stage} · stage ${info.number}: ${info.title}`);
  console.log(`capability: ${info.capability}`);
  console.log(
    `its code, configuration and tests against ${from}; listed at the end, not shown: ${LISTED.join(', ')}`,
  );
  console.log('');
  process.stdout.write(shown.map((d) => d.text).join(''));
  if (listed.length > 0) {
    console.log('');
    console.log('not shown:');
    printCounts(listed);
  }
  const [s, l] = [changedLines(shown), changedLines(listed)];
  const share = s + l === 0 ? 100 : Math.floor((100 * s) / (s + l));
  console.log(
    `lesson: ${s} changed lines shown, ${l} listed and not shown; ` +
      `the capability's own code and tests (what is shown) are ${share}% of the ${s + l} changed lines`,
  );
}

const args = process.argv.slice(2);
const stat = args.includes('--stat');
const lesson = args.includes('--lesson');
const names = args.filter((a) => a !== '--stat' && a !== '--lesson');
if (names.length !== 2 || names.some((a) => a.startsWith('-')) || (stat && lesson)) usage(USAGE);

const root = repoRoot();
const [a, b] = names.map(
  (name) => resolveDir(root, name) ?? usage(USAGE, `not a stage or directory: ${name}`),
);
let info: StageInfo | undefined;
try {
  if (lesson) info = readStageInfo(b);
} catch (e) {
  console.error(`--lesson shows the later stage's title and capability: ${(e as Error).message}`);
  process.exit(1);
}
const diffs = compareTrees(a, b).map((change) => diffFile(a, b, change));

if (diffs.length === 0) console.log('no differences');
else if (info) printLesson(info, basename(a), diffs);
else if (stat) printStat(diffs);
else process.stdout.write(diffs.map((d) => d.text).join(''));
