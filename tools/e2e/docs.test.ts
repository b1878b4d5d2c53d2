import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../stage/stages.ts';

/**
 * Docs are executable: every fenced block whose info string is `bash runnable` in the stage's README.md and
 * LAB.md runs, as written, in the stage folder, against the running stage, and must succeed. Blocks that
 * start or stop things (`npm start`, `docker compose up`) are plain `bash` blocks and are not run here; the
 * `bash start` block says how the harness starts the stage for them (tools/test-all.ts).
 */

const stage = process.env.STAGE ?? 'demo01';
const stageDir = join(repoRoot(), stage);

function runnableBlocks(markdown: string): { line: number; script: string }[] {
  const blocks: { line: number; script: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```bash\s+runnable\s*$/.test(lines[i] ?? '')) continue;
    const start = i + 1;
    const body: string[] = [];
    for (i = start; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    blocks.push({ line: start, script: body.join('\n') });
  }
  return blocks;
}

describe.each(['README.md', 'LAB.md'])(`${stage}/%s`, (file) => {
  const blocks = runnableBlocks(readFileSync(join(stageDir, file), 'utf8'));

  it('has commands a reader can run', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((b) => [b.line, b.script] as const))(
    `block at line %i runs`,
    (_, script) => {
      const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: stageDir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const shown = `$ ${script}\n${run.stdout}${run.stderr}`;
      console.log(shown);
      expect(run.status, shown).toBe(0);
    },
    70_000,
  ); // a block may wait on purpose (a lease running out)
});
