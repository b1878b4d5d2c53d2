/**
 * The deployment's files, checked by the tools an operator's CI would run, and the play's own refusals:
 *
 *   npx vitest run tools/deploy/lint.test.ts        (from the repository root; needs ansible, ansible-lint, yamllint)
 *
 * Under CI=true a missing tool is a failure; elsewhere these tests are skipped with the reason.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, which } from '../containers/docker.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';

const root = repoRoot();
const ci = process.env.CI === 'true';
const tools = ['ansible-playbook', 'ansible-lint', 'yamllint'];
const missing = tools.filter((tool) => which(tool) === undefined);
if (ci && missing.length > 0)
  throw new Error(
    `CI=true, but ${missing.join(', ')} not installed (apt-get install ansible ansible-lint yamllint)`,
  );

const inRoot = {
  cwd: root,
  timeoutMs: 300_000,
  env: { ...process.env, ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' },
};
/** deployment/pi.yml on this machine's one-node inventory, with one extra variable. */
const playOnThisMachine = (extraVar: string) =>
  run(
    'ansible-playbook',
    ['deployment/pi.yml', '-i', 'deployment/inventory/local.yml', '-e', extraVar],
    inRoot,
  );
/** What Ansible printed, with its line wrapping undone (its YAML output folds long messages). */
const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`.replace(/\s+/g, ' ');

describe.skipIf(missing.length > 0)(
  `the deployment's files${missing.length > 0 ? ` (skipped: no ${missing.join(', ')})` : ''}`,
  { timeout: 300_000 },
  () => {
    it('pass yamllint', async () => {
      const r = await run('yamllint', ['--strict', 'deployment', '.yamllint.yml', '.ansible-lint'], inRoot);
      expect(r.code, output(r)).toBe(0);
    });

    it("pass ansible-lint's production profile", async () => {
      const r = await run(
        'ansible-lint',
        ['--profile', 'production', '--nocolor', 'deployment/pi.yml', 'deployment/teardown.yml'],
        inRoot,
      );
      expect(r.code, output(r)).toBe(0);
      expect(output(r)).toMatch(/Passed with production profile/);
    });

    it.each(['deployment/pi.yml', 'deployment/teardown.yml'])(
      '%s passes --syntax-check with either inventory',
      async (playbook) => {
        for (const inventory of [[], ['-i', 'deployment/inventory/local.yml']]) {
          const r = await run('ansible-playbook', ['--syntax-check', ...inventory, playbook], inRoot);
          expect(r.code, output(r)).toBe(0);
        }
      },
    );

    it("deployment/README.md's commands are valid as written (plays: --syntax-check; the build: -h)", async () => {
      const readme = readFileSync(path.join(root, 'deployment/README.md'), 'utf8');
      const commands = [...readme.matchAll(/^```bash\n([\s\S]*?)^```/gm)]
        .flatMap((block) => (block[1] ?? '').split('\n'))
        .map((line) => line.replace(/\s+#.*$/, '').trim())
        .filter((line) => /^(ansible-playbook|deployment\/build|cp) /.test(line));
      expect(commands.length).toBeGreaterThan(8);
      for (const command of commands) {
        const [program = '', ...words] = command.split(/\s+/).map((w) => w.replace(/^'(.*)'$/, '$1'));
        if (program === 'cp') {
          // Copying the example is the operator's step; the example must be where the command says.
          expect(existsSync(path.join(root, words[0] ?? '')), command).toBe(true);
          continue;
        }
        const args =
          program === 'ansible-playbook'
            ? [...words.filter((w) => w !== '--ask-vault-pass'), '--syntax-check']
            : ['-h'];
        const r = await run(
          program === 'ansible-playbook' ? program : path.join(root, program),
          args,
          inRoot,
        );
        expect(r.code, `${command}\n${output(r)}`).toBe(0);
      }
    });

    it('a missing deployment/inventory/pi.yml gets one sentence on what to do, and no Ansible warning', async () => {
      // The inventory of ansible.cfg is deployment/inventory/; with a pi.yml of one's own there, read the same
      // folder without it (its groups.yml only).
      const own = existsSync(path.join(root, 'deployment/inventory/pi.yml'));
      const r = await run(
        'ansible-playbook',
        ['deployment/pi.yml', ...(own ? ['-i', 'deployment/inventory/groups.yml'] : [])],
        inRoot,
      );
      expect(r.code).not.toBe(0);
      expect(output(r)).toMatch(
        /copy deployment\/inventory\/pi\.example\.yml to deployment\/inventory\/pi\.yml/,
      );
      expect(output(r)).not.toMatch(/\[WARNING\]/);
    });

    it("the preflight's memory estimate lets a 2 GB Pi be the front node of every stage, and a 1 GB Pi any other", async () => {
      // The estimate (roles/preflight/templates/memory-needed.j2) for each node of three Pis, every stage.
      const dir = mkdtempSync(path.join(tmpdir(), 'pie-memory-'));
      try {
        writeFileSync(
          path.join(dir, 'inventory.yml'),
          'managers:\n  hosts:\n' +
            ['pi1', 'pi2', 'pi3'].map((pi) => `    ${pi}: { ansible_connection: local }\n`).join(''),
        );
        writeFileSync(
          path.join(dir, 'estimate.yml'),
          `- name: The preflight's estimate
  hosts: all
  gather_facts: false
  tasks:
    - name: Render it for every stage
      ansible.builtin.debug:
        msg: "NEEDS {{ inventory_hostname }} {{ item | basename }} {{ pie_os_reserve_mb | int + lookup('ansible.builtin.template', template, template_vars={'pie_stack_file': item}) | trim | int }}"
      loop: '{{ stacks }}'
`,
        );
        const stacks = existingStages(root)
          .map((stage) => path.join(root, 'deployment', 'stacks', `${stage}.yml`))
          .filter((file) => existsSync(file));
        const extra = {
          template: path.join(root, 'deployment/roles/preflight/templates/memory-needed.j2'),
          stacks,
        };
        const r = await run(
          'ansible-playbook',
          [
            '-i',
            path.join(dir, 'inventory.yml'),
            path.join(dir, 'estimate.yml'),
            '-e',
            '@deployment/group_vars/all.yml',
            '-e',
            JSON.stringify(extra),
          ],
          inRoot,
        );
        expect(r.code, output(r)).toBe(0);
        const needs = [...output(r).matchAll(/NEEDS (pi\d) (demo\d+)\.yml (\d+)/g)].map(
          ([, pi, stage, mb]) => ({
            pi,
            stage,
            mb: Number(mb),
          }),
        );
        expect(needs).toHaveLength(3 * stacks.length);
        console.log(
          `[preflight] MB needed per node: ${[...needs]
            .sort((a, b) => `${a.stage}${a.pi}`.localeCompare(`${b.stage}${b.pi}`))
            .map((n) => `${n.stage} ${n.pi} ${n.mb}`)
            .join(', ')}`,
        );
        // What a Pi reports as ansible_memtotal_mb, less the firmware's and the kernel's share: some 1 850 MB
        // for 2 GB, some 900 for 1 GB.
        for (const { pi, stage, mb } of needs)
          expect(mb, `${stage} on ${pi}`).toBeLessThanOrEqual(pi === 'pi1' ? 1850 : 900);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an unknown stage is refused with the stages there are', async () => {
      const r = await playOnThisMachine('stage=demo42');
      expect(r.code).not.toBe(0);
      expect(output(r)).toMatch(/There is no stack file for "demo42"/);
      expect(output(r)).toContain(`Stages: ${existingStages(root).join(', ')}`);
    });

    it('a 32-bit OS on a 64-bit kernel (a Pi 4 or 5) is refused too', async () => {
      const r = await playOnThisMachine('ansible_userspace_bits=32');
      expect(r.code).not.toBe(0);
      expect(output(r)).toMatch(/runs a 32-bit OS: Node 24 has no image for 32-bit ARM/);
    });

    it('a 32-bit Pi is refused before anything is installed, with the OS to flash', async () => {
      // Extra variables win over gathered facts: this machine plays a Pi with 32-bit Raspberry Pi OS.
      const r = await playOnThisMachine('ansible_architecture=armv7l');
      expect(r.code).not.toBe(0);
      const text = output(r);
      expect(text).toMatch(/runs a armv7l OS: Node 24 has no image for 32-bit ARM/);
      expect(text).toMatch(/Raspberry Pi OS Lite \(64-bit\)/);
      expect(text).toMatch(/local\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1/);
    });
  },
);
