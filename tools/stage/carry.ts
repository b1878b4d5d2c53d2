// stage:carry <from-stage> <commit-or-patch-file> [--dry-run]: apply a fix made in one stage to every later stage.
// Keeps only the files of the patch under <from-stage>/, rewrites that prefix for each later stage and applies it:
// directly when it applies, with a 3-way merge (git apply --3way) when in a git repo and it does not.
// Every stage gets a verdict; a stage that did not apply says exactly which files were touched, if any.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  callerCwd,
  existingStages,
  git,
  isExcluded,
  isGitRepo,
  repoRoot,
  snapshot,
  usage,
} from './stages.ts';

const USAGE = 'npm run stage:carry -- <from-stage> <commit-or-patch-file> [--dry-run]';

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const positional = args.filter((a) => a !== '--dry-run');
if (positional.length !== 2 || positional.some((a) => a.startsWith('-'))) usage(USAGE);
const [from, source] = positional;

const root = repoRoot();
const inGit = isGitRepo(root);
const stages = existingStages(root);
if (!stages.includes(from))
  usage(USAGE, `${from} is not a stage here (stages: ${stages.join(' ') || 'none'})`);
const targets = stages.slice(stages.indexOf(from) + 1);

/** The patch text: a file if one exists at that path, otherwise a commit of this repository. */
function readPatch(): string {
  const file = resolve(callerCwd(), source);
  if (existsSync(file) && statSync(file).isFile()) return readFileSync(file, 'utf8');
  if (!inGit) usage(USAGE, `${source}: no such patch file (and no git repository here to find a commit in)`);
  if (git(['rev-parse', '--verify', '--quiet', `${source}^{commit}`], root).status !== 0) {
    usage(USAGE, `${source}: neither a patch file nor a commit`);
  }
  // Fixed prefixes and options: a user's diff config must not change what we parse. Full blob ids let
  // --3way find the original file; --no-renames keeps every section's paths inside one stage.
  const r = git(
    [
      'show',
      '--format=',
      '--patch',
      '--binary',
      '--full-index',
      '--no-renames',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '--no-relative',
      '--src-prefix=a/',
      '--dst-prefix=b/',
      '--diff-merges=first-parent',
      source,
    ],
    root,
  );
  if (r.status !== 0) throw new Error(`git show ${source} failed: ${r.stderr}`);
  return r.stdout;
}

type Section = { paths: string[]; lines: string[] };

/** Split a git-style patch into one section per file, with the repo-relative paths its header names. */
function splitPatch(text: string): Section[] {
  const sections: Section[] = [];
  let header = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) {
      sections.push({ paths: [], lines: [] });
      header = true;
    }
    const section = sections.at(-1);
    if (!section) continue; // commit message or mail headers before the first file
    section.lines.push(line);
    if (!header) continue;
    if (/^(@@ |GIT binary patch|Binary files )/.test(line)) header = false;
    const m = /^(?:--- a\/|\+\+\+ b\/|rename from |rename to |copy from |copy to )(.*?)\t?$/.exec(line);
    if (m) section.paths.push(m[1]);
  }
  for (const s of sections) {
    // No ---/+++ lines (binary, mode-only or empty files): read the path from "diff --git a/P b/P".
    const rest = s.lines[0].slice('diff --git '.length);
    const p = rest.slice(2, 2 + (rest.length - 5) / 2);
    if (s.paths.length === 0 && rest === `a/${p} b/${p}`) s.paths.push(p);
  }
  return sections;
}

const HEADER_LEADS = [
  'diff --git a/',
  '--- a/',
  '+++ b/',
  'rename from ',
  'rename to ',
  'copy from ',
  'copy to ',
];

/** The section as it would be for another stage: the stage prefix rewritten in the header lines only. */
function retarget(section: Section, to: string): string {
  let header = true;
  const lines = section.lines.map((line) => {
    if (!header || /^(@@ |GIT binary patch|Binary files )/.test(line)) {
      header = false;
      return line;
    }
    for (const lead of HEADER_LEADS) {
      if (line.startsWith(`${lead}${from}/`))
        line = `${lead}${to}/${line.slice(lead.length + from.length + 1)}`;
    }
    return line.startsWith('diff --git ') ? line.replace(` b/${from}/`, ` b/${to}/`) : line;
  });
  const text = lines.join('\n');
  return text.endsWith('\n') ? text : `${text}\n`;
}

// Keep the sections of <from-stage>/, skipping generated files (lockfiles are regenerated per stage).
const inside: Section[] = [];
for (const section of splitPatch(readPatch())) {
  const under = section.paths.filter((p) => p.startsWith(`${from}/`));
  if (under.length === 0) {
    console.log(`ignoring ${section.paths.join(', ')} (not under ${from}/)`);
  } else if (under.length !== section.paths.length) {
    console.error(`cannot carry ${section.paths.join(' -> ')}: it moves a file across the ${from}/ boundary`);
    process.exit(1);
  } else if (under.some((p) => isExcluded(p.slice(from.length + 1)))) {
    console.log(`skipping ${under.join(', ')} (generated: regenerate it in each stage instead)`);
  } else {
    inside.push(section);
  }
}
if (inside.length === 0) {
  console.error(`nothing to carry: the patch changes no file under ${from}/`);
  process.exit(1);
}
if (targets.length === 0) {
  console.log(`${from} is the last stage: nothing to carry into`);
  process.exit(0);
}
const files = inside.map((s) => s.paths[0].slice(from.length + 1));
console.log(
  `carrying ${files.join(', ')} from ${from} into ${targets.join(' ')}${dryRun ? ' (dry run)' : ''}`,
);

/** Paths under <stage>/ that git names in its messages ("error: patch failed: demo03/x.ts:3", "U demo03/x.ts"). */
function namedFiles(output: string, stage: string): string[] {
  return [...new Set(output.match(new RegExp(`${stage}/[^\\s:']+`, 'g')) ?? [])];
}

type Verdict = { ok: boolean; message: string };

/** A failed stage: the files git names, and its own error lines (they say why: conflict, missing file, ...). */
function failure(files: string[], output: string, detail: string[] = []): Verdict {
  const errors = output.split('\n').filter((l) => l.startsWith('error:'));
  const lines = [
    `did not apply cleanly: ${files.join(', ') || '(see below)'}`,
    ...detail,
    ...errors.map((l) => `git ${l}`),
  ];
  return { ok: false, message: lines.join('\n    ') };
}

function carryInto(stage: string): Verdict {
  const patch = inside.map((s) => retarget(s, stage)).join('');
  const apply = (...flags: string[]) => git(['apply', ...flags], root, patch);

  const check = apply('--check');
  if (check.status === 0) {
    if (dryRun) return { ok: true, message: 'would apply' };
    const r = apply(); // without --3way, git apply is all-or-nothing
    return r.status === 0 ? { ok: true, message: 'applied' } : failure(namedFiles(r.stderr, stage), r.stderr);
  }
  if (apply('--check', '--reverse').status === 0) return { ok: true, message: 'already applied' };
  if (!inGit) {
    return failure(namedFiles(check.stderr, stage), check.stderr, [`nothing was changed in ${stage}`]);
  }

  if (dryRun) {
    // --check --3way exits 0 even when the merge would conflict; git says "with conflicts" then.
    const r = apply('--check', '--3way');
    const conflicts = [...r.stderr.matchAll(/^Applied patch to '(.+)' with conflicts\.$/gm)].map((m) => m[1]);
    if (r.status === 0 && conflicts.length === 0) return { ok: true, message: 'would apply (3-way merge)' };
    return failure(conflicts.length ? conflicts : namedFiles(r.stderr, stage), r.stderr);
  }

  // --3way leaves conflict markers and applies (and stages) the files that merged: compare the stage before
  // and after, so the report says exactly what changed and a half-applied stage is never left unsaid.
  const before = snapshot(join(root, stage));
  const r = apply('--3way');
  const after = snapshot(join(root, stage));
  const touched = [...new Set([...before.keys(), ...after.keys()])].filter(
    (p) => before.get(p) !== after.get(p),
  );
  if (r.status === 0) {
    // A clean merge that changed nothing: the fix was already there, with other context around it.
    return {
      ok: true,
      message: touched.length ? 'applied (3-way merge; the files are staged)' : 'already applied',
    };
  }
  const output = r.stdout + r.stderr;
  const conflicts = [...output.matchAll(/^U (.+)$/gm)].map((m) => m[1]);
  const detail =
    touched.length === 0
      ? [`nothing was changed in ${stage}`]
      : [
          `${stage} is partly changed: ${touched.map((p) => `${stage}/${p}`).join(', ')}`,
          ...(conflicts.length ? ['resolve the conflict markers there, then git add the files'] : []),
        ];
  return failure(conflicts.length ? conflicts : namedFiles(output, stage), output, detail);
}

let failed = 0;
for (const stage of targets) {
  const verdict = carryInto(stage);
  if (!verdict.ok) failed++;
  console.log(`${stage}: ${verdict.message}`);
}
if (failed > 0) {
  console.log(
    `${failed} of ${targets.length} stage(s) did not apply${dryRun ? ' (dry run: nothing changed)' : ''}`,
  );
}
process.exit(failed === 0 ? 0 : 1);
