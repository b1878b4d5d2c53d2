// What stage:diff, stage:check and stage:carry share: the stage order, where the stages are,
// which files count as part of a stage, the stage.json manifest, and how to call git.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Talk order. There is no demo04: the numbering follows the original talk. */
export const STAGE_ORDER = ['demo01', 'demo02', 'demo03', 'demo05', 'demo06', 'demo07', 'demo08', 'demo99'];

/** Installed or generated content: never part of what a stage is, so never diffed, checked or carried. */
const EXCLUDED_DIRS = new Set(['node_modules', 'dist', '.test-output', '.git']);
const isExcludedFile = (name: string) => name === 'package-lock.json' || name.endsWith('.tsbuildinfo');

/** `relPath` is relative to a stage, with forward slashes. */
export function isExcluded(relPath: string): boolean {
  const parts = relPath.split('/');
  const name = parts.pop() ?? '';
  return parts.some((dir) => EXCLUDED_DIRS.has(dir)) || isExcludedFile(name);
}

export type Run = { status: number; stdout: string; stderr: string };

export function git(args: string[], cwd: string, input?: string): Run {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run git (${r.error.message}); the stage tools need git on the PATH`);
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The repo root is found from the cwd (not from this file), so the tools work on any checkout or copy. */
export function repoRoot(cwd = process.cwd()): string {
  try {
    const r = git(['rev-parse', '--show-toplevel'], cwd);
    if (r.status === 0) return r.stdout.trim();
  } catch {
    // No git at all: the cwd is the root.
  }
  return cwd;
}

export function isGitRepo(dir: string): boolean {
  try {
    return git(['rev-parse', '--is-inside-work-tree'], dir).stdout.trim() === 'true';
  } catch {
    return false;
  }
}

/** `npm run` moves to the package root; INIT_CWD is where the user typed the command. */
export const callerCwd = (): string => process.env.INIT_CWD ?? process.cwd();

export const isDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

export const existingStages = (root: string): string[] => STAGE_ORDER.filter((s) => isDir(join(root, s)));

/** A stage name means the folder at the repo root; anything else is a directory path from the caller's cwd. */
export function resolveDir(root: string, arg: string): string | undefined {
  if (STAGE_ORDER.includes(arg) && isDir(join(root, arg))) return join(root, arg);
  const path = resolve(callerCwd(), arg);
  return isDir(path) ? path : undefined;
}

/** Every file of a stage, relative and sorted, minus the exclusions. Symlinks count as files. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (!EXCLUDED_DIRS.has(entry.name)) out.push(...listFiles(dir, rel));
    } else if ((entry.isFile() || entry.isSymbolicLink()) && !isExcludedFile(entry.name)) {
      out.push(rel);
    }
  }
  return out.sort();
}

/** Bytes of a file, or the target of a symlink (as git records it). */
function contentOf(path: string): Buffer {
  return lstatSync(path).isSymbolicLink() ? Buffer.from(`link:${readlinkSync(path)}`) : readFileSync(path);
}

export type Change = { path: string; status: 'added' | 'removed' | 'changed' };

/** Files that differ between two stage folders, byte for byte. */
export function compareTrees(a: string, b: string): Change[] {
  const left = new Set(listFiles(a));
  const right = new Set(listFiles(b));
  const changes: Change[] = [];
  for (const path of [...new Set([...left, ...right])].sort()) {
    if (!right.has(path)) changes.push({ path, status: 'removed' });
    else if (!left.has(path)) changes.push({ path, status: 'added' });
    else if (!contentOf(join(a, path)).equals(contentOf(join(b, path))))
      changes.push({ path, status: 'changed' });
  }
  return changes;
}

/** Hash of every file of a stage: lets carry tell exactly what a failed `git apply` touched. */
export function snapshot(dir: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const path of listFiles(dir)) {
    hashes.set(
      path,
      createHash('sha1')
        .update(contentOf(join(dir, path)))
        .digest('hex'),
    );
  }
  return hashes;
}

export type Manifest = { changes: string[] };

/** Who a stage is, as its stage.json says: the only place its number, title and capability are written. */
export type StageInfo = { stage: string; number: number; title: string; capability: string };

function readStageJson(stageDir: string): { file: string; json: Record<string, unknown> } {
  const file = join(stageDir, 'stage.json');
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json !== 'object' || json === null) throw new Error(`${file} must hold a JSON object`);
  return { file, json: json as Record<string, unknown> };
}

export function readManifest(stageDir: string): Manifest {
  const { file, json } = readStageJson(stageDir);
  const changes = json.changes;
  if (!Array.isArray(changes) || !changes.every((c) => typeof c === 'string')) {
    throw new Error(`${file}: "changes" must be an array of paths or globs`);
  }
  return { changes };
}

export function readStageInfo(stageDir: string): StageInfo {
  const { file, json } = readStageJson(stageDir);
  const { stage, number, title, capability } = json;
  if (typeof stage !== 'string' || typeof title !== 'string' || typeof capability !== 'string') {
    throw new Error(`${file}: "stage", "title" and "capability" must be strings`);
  }
  if (typeof number !== 'number') throw new Error(`${file}: "number" must be a number`);
  return { stage, number, title, capability };
}

/** `*` matches within one path segment, `**` across segments; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/^\.\//, '');
  let re = '';
  for (let i = 0; i < g.length; i++) {
    if (g.startsWith('**/', i)) {
      re += '(?:.*/)?'; // zero or more whole directories
      i += 2;
    } else if (g.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (g[i] === '*') {
      re += '[^/]*';
    } else {
      re += g[i].replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export function usage(line: string, problem?: string): never {
  if (problem) console.error(problem);
  console.error(`usage: ${line}`);
  process.exit(2);
}
