// stage:diff A B [--stat]: what stage B adds over stage A, without lockfiles, build output and node_modules.
// Paths read a/<path> b/<path>, relative to the stage, so the diff reads well on a slide (and `git apply`s).
import { join } from 'node:path';
import { type Change, compareTrees, git, repoRoot, resolveDir, usage } from './stages.ts';

const USAGE = 'npm run stage:diff -- <stage-or-dir> <stage-or-dir> [--stat]';

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

function printStat(diffs: FileDiff[]): void {
  const width = Math.max(...diffs.map((d) => d.path.length));
  const addWidth = Math.max(...diffs.map((d) => String(d.added).length));
  for (const d of diffs) {
    const counts = d.binary ? 'Bin' : `+${String(d.added).padStart(addWidth)} -${d.deleted}`;
    console.log(` ${d.path.padEnd(width)} | ${counts}`);
  }
  const added = diffs.reduce((n, d) => n + d.added, 0);
  const deleted = diffs.reduce((n, d) => n + d.deleted, 0);
  console.log(
    ` ${plural(diffs.length, 'file')} changed, ${plural(added, 'insertion')}(+), ${plural(deleted, 'deletion')}(-)`,
  );
}

const args = process.argv.slice(2);
const stat = args.includes('--stat');
const names = args.filter((a) => a !== '--stat');
if (names.length !== 2 || names.some((a) => a.startsWith('-'))) usage(USAGE);

const root = repoRoot();
const [a, b] = names.map(
  (name) => resolveDir(root, name) ?? usage(USAGE, `not a stage or directory: ${name}`),
);
const diffs = compareTrees(a, b).map((change) => diffFile(a, b, change));

if (diffs.length === 0) console.log('no differences');
else if (stat) printStat(diffs);
else process.stdout.write(diffs.map((d) => d.text).join(''));
