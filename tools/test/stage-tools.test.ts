// The stage tools, run as a user runs them: real CLIs as child processes in throw-away repos.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const toolPath = (name: string) => fileURLToPath(new URL(`../stage/${name}.ts`, import.meta.url));

// Without INIT_CWD from an outer `npm run`, the tools resolve relative paths from the cwd we give them.
const identity = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
};
const env: NodeJS.ProcessEnv = { ...process.env, ...identity };
delete env.INIT_CWD;

function run(cwd: string, tool: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [toolPath(tool), ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp folder with the given files; a git repo with one commit unless `repo` is false. */
function tree(files: Record<string, string>, repo = true): string {
  const root = mkdtempSync(join(tmpdir(), 'stage-tools-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) write(root, path, content);
  if (repo) {
    git(root, 'init', '-q');
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'stages');
  }
  return root;
}

function write(root: string, path: string, content: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
const manifest = (stage: string, changes: string[]) => JSON.stringify({ stage, changes }, null, 2);
const book = (line3: string) => ['title', 'author', line3, 'price', 'stock', 'isbn', 'year', ''].join('\n');

describe('stage:diff', () => {
  const stages = () =>
    tree({
      'demo01/stage.json': manifest('demo01', []),
      'demo01/src/a.ts': 'one\nsame\n',
      'demo01/node_modules/x/index.js': 'old',
      'demo01/dist/a.js': 'old',
      'demo01/package-lock.json': '{}',
      'demo01/tsconfig.tsbuildinfo': 'old',
      'demo02/stage.json': manifest('demo02', ['src/a.ts', 'src/b.ts']),
      'demo02/src/a.ts': 'two\nsame\n',
      'demo02/src/b.ts': 'new\n',
      'demo02/node_modules/x/index.js': 'new',
      'demo02/dist/a.js': 'new',
      'demo02/package-lock.json': '{"v":2}',
      'demo02/tsconfig.tsbuildinfo': 'new',
    });

  it('shows the change with stage-relative paths, without node_modules, dist or lockfiles', () => {
    const { code, out } = run(stages(), 'diff', 'demo01', 'demo02');
    expect(code).toBe(0);
    expect(out).toContain('diff --git a/src/a.ts b/src/a.ts\n');
    expect(out).toContain('--- a/src/a.ts\n+++ b/src/a.ts\n');
    expect(out).toContain('-one\n+two\n');
    expect(out).toContain('--- /dev/null\n+++ b/src/b.ts\n');
    expect(out).not.toMatch(/node_modules|dist|package-lock|tsbuildinfo|demo01\//);
  });

  it('prints a stat with a total line', () => {
    const { code, out } = run(stages(), 'diff', 'demo01', 'demo02', '--stat');
    expect(code).toBe(0);
    expect(out).toMatch(/^ src\/a\.ts +\| \+1 -1$/m);
    expect(out).toMatch(/^ src\/b\.ts +\| \+1 -0$/m);
    expect(out).toMatch(/^ 3 files changed, \d+ insertions\(\+\), \d+ deletions\(-\)$/m);
    expect(out).not.toContain('node_modules');
  });

  it('says "no differences" for identical stages', () => {
    const { code, out } = run(stages(), 'diff', 'demo01', 'demo01');
    expect([code, out]).toEqual([0, 'no differences\n']);
  });

  it('diffs two copies of a folder by path, outside a git checkout', () => {
    const root = tree({ 'demo01/src/a.ts': 'one\n', 'demo01/node_modules/m.js': 'x' }, false);
    cpSync(join(root, 'demo01'), join(root, 'copies/left'), { recursive: true });
    cpSync(join(root, 'demo01'), join(root, 'copies/right'), { recursive: true });
    write(root, 'copies/right/src/a.ts', 'uno\n');
    write(root, 'copies/right/node_modules/m.js', 'y');
    const { code, out } = run(join(root, 'copies'), 'diff', 'left', join(root, 'copies/right'));
    expect(code).toBe(0);
    expect(out).toContain('--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-one\n+uno\n');
    expect(out).not.toContain('node_modules');
  });

  it('prints usage on wrong arguments', () => {
    const { code, err } = run(stages(), 'diff', 'demo01');
    expect(code).toBe(2);
    expect(err).toContain('usage:');
  });
});

describe('stage:diff --lesson', () => {
  const info = (stage: string, number: number, title: string) =>
    JSON.stringify({ stage, number, title, capability: `${title.toLowerCase()} for everyone`, changes: [] });
  const stages = () =>
    tree({
      'demo01/stage.json': info('demo01', 1, 'The store'),
      'demo01/README.md': 'old story\n',
      'demo01/src/a.ts': 'one\nsame\n',
      'demo01/test/support/s.ts': 'helper a\n',
      'demo01/test/a.test.ts': 'test\n',
      'demo02/stage.json': info('demo02', 2, 'Service registry'),
      'demo02/README.md': 'new story\nmore story\n',
      'demo02/LAB.md': 'an exercise\n',
      'demo02/src/a.ts': 'two\nsame\n',
      'demo02/src/b.ts': 'new\n',
      'demo02/test/support/s.ts': 'helper b\n',
      'demo02/test/a.test.ts': 'test\n',
    });

  it("heads the diff with the later stage's title and capability, and shows only code, configuration and tests", () => {
    const { code, out } = run(stages(), 'diff', 'demo01', 'demo02', '--lesson');
    expect(code).toBe(0);
    expect(out.split('\n').slice(0, 3)).toEqual([
      'demo02 · stage 2: Service registry',
      'capability: service registry for everyone',
      'its code, configuration and tests against demo01; listed at the end, not shown: README.md, LAB.md,' +
        ' stage.json, test/support/**',
    ]);
    expect(out).toContain('--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,2 +1,2 @@\n-one\n+two\n');
    expect(out).toContain('--- /dev/null\n+++ b/src/b.ts\n');
    expect(out).not.toMatch(/story|exercise|helper|diff --git a\/(README|LAB|stage|test\/support)/);
  });

  it('lists the docs, stage.json and test support with their line counts, and measures the view', () => {
    const { out } = run(stages(), 'diff', 'demo01', 'demo02', '--lesson');
    const listed = out.slice(out.indexOf('\nnot shown:\n'));
    expect(listed).toMatch(/^ LAB\.md +\| \+1 -0$/m);
    expect(listed).toMatch(/^ README\.md +\| \+2 -1$/m);
    expect(listed).toMatch(/^ stage\.json +\| \+1 -1$/m);
    expect(listed).toMatch(/^ test\/support\/s\.ts +\| \+1 -1$/m);
    expect(listed).not.toContain('src/');
    // Shown: src/a.ts (2) and src/b.ts (1); listed: 1 + 3 + 2 + 2. 3 of 11 is 27 %, rounded down.
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      "lesson: 3 changed lines shown, 8 listed and not shown; the capability's own code and tests (what is shown)" +
        ' are 27% of the 11 changed lines',
    );
  });

  it("says so when the later stage's stage.json lacks a title", () => {
    const root = stages();
    write(root, 'demo02/stage.json', manifest('demo02', []));
    const { code, err } = run(root, 'diff', 'demo01', 'demo02', '--lesson');
    expect(code).toBe(1);
    expect(err).toContain('"stage", "title" and "capability" must be strings');
  });

  it('keeps the full diff and --stat as they are', () => {
    const root = stages();
    expect(run(root, 'diff', 'demo01', 'demo02').out).toContain('+more story\n');
    expect(run(root, 'diff', 'demo01', 'demo02', '--stat').out).toMatch(/^ README\.md +\| \+2 -1$/m);
    expect(run(root, 'diff', 'demo01', 'demo02', '--stat', '--lesson').code).toBe(2);
  });
});

describe('stage:check', () => {
  const stages = (declared02: string[], declared03: string[]) =>
    tree({
      'demo01/stage.json': manifest('demo01', []),
      'demo01/src/lib/server.ts': 'server\n',
      'demo01/package-lock.json': '{}',
      'demo02/stage.json': manifest('demo02', declared02),
      'demo02/src/lib/server.ts': 'server + registry\n',
      'demo02/src/lib/registry/client.ts': 'registry\n',
      'demo02/package-lock.json': '{"etcd":1}',
      'demo03/stage.json': manifest('demo03', declared03),
      'demo03/src/lib/server.ts': 'server + registry\n',
      'demo03/src/lib/registry/client.ts': 'registry\n',
      'demo03/src/lib/balancer.ts': 'round robin\n',
    });

  it('passes when every difference is declared', () => {
    const { code, out } = run(
      stages(['src/lib/server.ts', 'src/lib/registry/**'], ['src/lib/*.ts']),
      'check',
    );
    expect(code).toBe(0);
    expect(out).toContain('demo01 → demo02: ok');
    expect(out).toContain('demo02 → demo03: ok');
  });

  it('fails naming an undeclared file', () => {
    const { code, out } = run(stages(['src/lib/server.ts'], ['src/lib/balancer.ts']), 'check');
    expect(code).toBe(1);
    expect(out).toContain('undeclared (added): src/lib/registry/client.ts');
    expect(out).toContain('demo02 → demo03: ok');
  });

  it('fails on a stale entry', () => {
    const { code, out } = run(stages(['src/lib/**'], ['src/lib/balancer.ts', 'src/lib/gone.ts']), 'check');
    expect(code).toBe(1);
    expect(out).toContain('"src/lib/gone.ts" matches no file that differs');
  });

  it('flags story told outside README.md, LAB.md and stage.json, and nothing legitimate', () => {
    const root = tree({
      'demo01/stage.json': manifest('demo01', []),
      'demo01/README.md': 'demo01: the problem this stage leaves is the next problem\n',
      'demo01/LAB.md': 'Until demo02, every URL is hard-coded.\n',
      'demo01/docker-compose.yml': [
        '# The store on one machine.',
        '# Hard-coded URLs: the problem this stage leaves.',
        'services:',
        '  web:',
        '    image: microservice-pie/demo01',
        '  api:',
        '    image: microservice-pie/demo01:demo02',
        '    image: microservice-pie/demo02',
        '',
      ].join('\n'),
      'demo01/Dockerfile': '# The build stage runs where it builds.\nFROM node:24-alpine AS build\n',
      'demo01/src/lib/stage.ts': [
        "/** The stage's identity, read from stage.json: the one place the stage number is written. */",
        "export const stage = JSON.parse(readFileSync('stage.json', 'utf8'));",
        'console.log(stage.stage, stage.number);',
        '',
      ].join('\n'),
      'demo01/src/lib/http-app.ts': [
        '// Every response says who answered: how people on stage see it.',
        "// Is another stage still running? Then another stage's services hold the port.",
        '/** CORS: `*` until the gateway makes it same-origin. */',
        '',
      ].join('\n'),
      'demo01/src/lib/client.ts': [
        '// One instance, the oldest: scaling is the next problem.',
        '// Until demo06, every API is its own origin.',
        '// Stage 3 adds a balancer.',
        '// another origin until the gateway stage',
        '',
      ].join('\n'),
      'demo01/test/support/stage.ts':
        "const { number } = JSON.parse(read('stage.json')); // this stage's number\n",
      'demo01/assets/logo.bin': 'demo01\0this stage',
      'demo06/stage.json': manifest('demo06', ['**']),
      'demo06/src/lib/http-app.ts': '/** Retries until the gateway answers. */\n',
      'demo06/src/lib/other.ts': '// until the breaker closes\n',
    });
    const { code, out } = run(root, 'check');
    expect(code).toBe(1);
    expect(out).toContain('demo01 → demo06: ok');
    const hits = [...out.matchAll(/^ {2}(demo\d\d\/\S+:\d+): ([^:]+):/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(hits).toEqual([
      'demo01/docker-compose.yml:2 names a stage by its place in the talk',
      'demo01/docker-compose.yml:7 names a stage',
      'demo01/docker-compose.yml:8 names a stage',
      'demo01/src/lib/client.ts:1 says what problem comes next',
      'demo01/src/lib/client.ts:2 names a stage',
      'demo01/src/lib/client.ts:3 names a stage by number',
      'demo01/src/lib/client.ts:4 says until which stage something lasts',
      'demo01/src/lib/http-app.ts:3 names a capability still to come',
      'demo01/test/support/stage.ts:1 names a stage by its place in the talk',
      'demo06/src/lib/other.ts:1 names a capability still to come',
    ]);
    expect(out).toContain('stage:check: 10 problem(s)');
  });

  it('has nothing to compare with one stage', () => {
    const { code, out } = run(tree({ 'demo01/stage.json': manifest('demo01', []) }), 'check');
    expect(code).toBe(0);
    expect(out).toContain('nothing to compare');
  });
});

describe('stage:carry', () => {
  // demo02 is a copy of demo01; demo03 changed line 3 of book.ts on its own.
  const stages = () =>
    tree({
      'demo01/src/book.ts': book('price = 1'),
      'demo01/src/number.ts': 'isbn = bad\n',
      'demo02/src/book.ts': book('price = 1'),
      'demo02/src/number.ts': 'isbn = bad\n',
      'demo03/src/book.ts': book('price = 2'),
      'demo03/src/number.ts': 'isbn = bad\n',
    });

  function commitFix(root: string, path: string, from: string, to: string): void {
    write(root, path, read(root, path).replace(from, to));
    git(root, 'commit', '-qam', `fix ${path}`);
  }

  it('applies a fix from demo01 to demo02 and demo03, then knows it is applied', () => {
    const root = stages();
    write(root, 'README.md', 'not a stage file\n');
    git(root, 'add', 'README.md');
    commitFix(root, 'demo01/src/number.ts', 'bad', 'good');

    const first = run(root, 'carry', 'demo01', 'HEAD');
    expect(first.code).toBe(0);
    expect(first.out).toContain('ignoring README.md');
    expect(first.out).toContain('demo02: applied');
    expect(first.out).toContain('demo03: applied');
    expect(read(root, 'demo02/src/number.ts')).toBe('isbn = good\n');
    expect(read(root, 'demo03/src/number.ts')).toBe('isbn = good\n');

    const again = run(root, 'carry', 'demo01', 'HEAD');
    expect(again.out).toContain('demo02: already applied');
    expect(again.code).toBe(0);
  });

  it('reports a conflict where demo03 diverged, and says what it changed', () => {
    const root = stages();
    commitFix(root, 'demo01/src/book.ts', 'price = 1', 'price = 10');
    const { code, out } = run(root, 'carry', 'demo01', 'HEAD');
    expect(code).toBe(1);
    expect(out).toContain('demo02: applied');
    expect(out).toContain('demo03: did not apply cleanly: demo03/src/book.ts');
    expect(read(root, 'demo02/src/book.ts')).toBe(book('price = 10'));
    expect(read(root, 'demo03/src/book.ts')).toContain('<<<<<<<'); // left for the maintainer, and said so
    expect(out).toContain('demo03 is partly changed: demo03/src/book.ts');
  });

  it('merges a fix whose context diverged (3-way), then knows it is applied', () => {
    const root = stages();
    write(root, 'demo03/src/book.ts', book('price = 1').replace('author', 'writer'));
    git(root, 'commit', '-qam', 'demo03 renames a field');
    commitFix(root, 'demo01/src/book.ts', 'stock', 'stock = 0');
    const first = run(root, 'carry', 'demo01', 'HEAD');
    expect(first.out).toContain('demo03: applied (3-way merge');
    expect(read(root, 'demo03/src/book.ts')).toBe(
      book('price = 1').replace('author', 'writer').replace('stock', 'stock = 0'),
    );
    const again = run(root, 'carry', 'demo01', 'HEAD');
    expect(again.out).toContain('demo02: already applied');
    expect(again.out).toContain('demo03: already applied');
    expect(again.code).toBe(0);
  });

  it('changes nothing in a dry run', () => {
    const root = stages();
    commitFix(root, 'demo01/src/book.ts', 'price = 1', 'price = 10');
    const { code, out } = run(root, 'carry', 'demo01', 'HEAD', '--dry-run');
    expect(code).toBe(1);
    expect(out).toContain('demo02: would apply');
    expect(out).toContain('demo03: did not apply cleanly: demo03/src/book.ts');
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('applies a patch file outside a git checkout, all or nothing per stage', () => {
    const root = tree(
      {
        'demo01/src/book.ts': book('price = 10'),
        'demo02/src/book.ts': book('price = 1'),
        'demo03/src/book.ts': book('price = 2'),
        'fix.patch': [
          'Subject: fix the price',
          '',
          'diff --git a/demo01/src/book.ts b/demo01/src/book.ts',
          '--- a/demo01/src/book.ts',
          '+++ b/demo01/src/book.ts',
          '@@ -2,3 +2,3 @@',
          ' author',
          '-price = 1',
          '+price = 10',
          ' price',
          '',
        ].join('\n'),
      },
      false,
    );
    const { code, out } = run(root, 'carry', 'demo01', 'fix.patch');
    expect(code).toBe(1);
    expect(out).toContain('demo02: applied');
    expect(out).toMatch(
      /demo03: did not apply cleanly: demo03\/src\/book\.ts\n {4}nothing was changed in demo03/,
    );
    expect(read(root, 'demo02/src/book.ts')).toBe(book('price = 10'));
    expect(read(root, 'demo03/src/book.ts')).toBe(book('price = 2'));
  });

  it('prints usage on wrong arguments', () => {
    const { code, err } = run(stages(), 'carry', 'demo04', 'HEAD');
    expect(code).toBe(2);
    expect(err).toContain('usage:');
  });
});
