/**
 * Images for another platform (linux/arm64, the Pis) on this machine: what running them here needs, and the
 * stand-in bases deployment/build looks for when there is no buildx plugin.
 *
 * - `arm64Host` checks that this machine can run linux/arm64 programs (qemu-user-static registered with
 *   binfmt_misc, with the F flag so containers find the interpreter) and that apt knows arm64 packages (the
 *   node stand-in's libraries). With `setup: true`, as root, it does the one-time setup that is missing:
 *   apt-get install qemu-user-static binfmt-support, mount binfmt_misc, update-binfmts --enable qemu-aarch64,
 *   dpkg --add-architecture arm64 && apt-get update.
 * - `buildStage` runs deployment/build.
 *
 * As a command:
 *   node tools/deploy/images.ts setup                       the one-time setup (root)
 *   node tools/deploy/images.ts base node:24-alpine linux/arm64   the base image for that platform (a stand-in
 *                                                           if it is not here), printed as its local name
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, which } from '../containers/docker.ts';
import { ensureImage } from '../containers/standins.ts';
import { repoRoot } from '../stage/stages.ts';

type Log = (line: string) => void;

const binfmtDir = '/proc/sys/fs/binfmt_misc';
const qemuEntry = path.join(binfmtDir, 'qemu-aarch64');

export interface HostCheck {
  ok: boolean;
  /** what is missing, one line each, with what to do */
  missing: string[];
  /** the setup steps done (with setup: true) */
  done: string[];
}

async function problems(): Promise<string[]> {
  const missing: string[] = [];
  const qemu = which('qemu-aarch64-static', `${process.env.PATH ?? ''}:/usr/bin:/usr/libexec/qemu-binfmt`);
  if (qemu === undefined)
    missing.push('qemu-aarch64-static is not installed (apt-get install qemu-user-static binfmt-support)');
  if (!existsSync(path.join(binfmtDir, 'status'))) {
    missing.push(`binfmt_misc is not mounted (as root: mount -t binfmt_misc binfmt_misc ${binfmtDir})`);
  } else if (!existsSync(qemuEntry)) {
    missing.push(
      'qemu-aarch64 is not registered with binfmt_misc (as root: update-binfmts --enable qemu-aarch64)',
    );
  } else {
    const entry = readFileSync(qemuEntry, 'utf8');
    if (!/^enabled/m.test(entry))
      missing.push('qemu-aarch64 is registered but disabled (as root: update-binfmts --enable qemu-aarch64)');
    else if (!/^flags:.*F/m.test(entry))
      missing.push(
        'qemu-aarch64 is registered without the F flag: containers cannot find the interpreter ' +
          '(Debian qemu-user-static registers it with F: update-binfmts --disable then --enable qemu-aarch64)',
      );
  }
  const apt = await run('apt-cache', ['show', '--no-all-versions', 'libc6:arm64'], { timeoutMs: 60_000 });
  if (apt.code !== 0 || !/^Version:/m.test(apt.stdout))
    missing.push('apt knows no arm64 packages (as root: dpkg --add-architecture arm64 && apt-get update)');
  return missing;
}

async function step(done: string[], log: Log, cmd: string, args: string[]): Promise<void> {
  const line = [cmd, ...args].join(' ');
  log(`arm64 setup: ${line}`);
  const result = await run(cmd, args, { timeoutMs: 600_000 });
  if (result.code !== 0)
    throw new Error(`${line} failed: ${`${result.stderr}${result.stdout}`.trim().split('\n').at(-1)}`);
  done.push(line);
}

/** Whether this machine runs linux/arm64 containers and builds arm64 stand-ins; with setup: true, makes it so. */
export async function arm64Host(options: { setup?: boolean; log?: Log } = {}): Promise<HostCheck> {
  const { setup = false, log = console.log } = options;
  const done: string[] = [];
  let missing = await problems();
  if (missing.length === 0 || !setup) return { ok: missing.length === 0, missing, done };
  if (process.getuid?.() !== 0) return { ok: false, missing: [...missing, 'the setup needs root'], done };
  try {
    if (which('qemu-aarch64-static', `${process.env.PATH ?? ''}:/usr/bin`) === undefined) {
      await step(done, log, 'apt-get', ['update']);
      await step(done, log, 'apt-get', [
        'install',
        '-y',
        '--no-install-recommends',
        'qemu-user-static',
        'binfmt-support',
      ]);
    }
    if (!existsSync(path.join(binfmtDir, 'status')))
      await step(done, log, 'mount', ['-t', 'binfmt_misc', 'binfmt_misc', binfmtDir]);
    if (!existsSync(qemuEntry) || !/^enabled/m.test(readFileSync(qemuEntry, 'utf8')))
      await step(done, log, 'update-binfmts', ['--enable', 'qemu-aarch64']);
    const arches = await run('dpkg', ['--print-foreign-architectures'], { timeoutMs: 15_000 });
    if (!arches.stdout.split('\n').includes('arm64'))
      await step(done, log, 'dpkg', ['--add-architecture', 'arm64']);
    if ((await problems()).some((p) => p.startsWith('apt knows')))
      await step(done, log, 'apt-get', ['update']);
  } catch (error) {
    return { ok: false, missing: [...missing, (error as Error).message], done };
  }
  missing = await problems();
  return { ok: missing.length === 0, missing, done };
}

/** Runs deployment/build with these arguments, echoing its output with a prefix. */
export function buildStage(args: string[], options: { timeoutMs?: number; echo?: string } = {}) {
  return run(path.join(repoRoot(), 'deployment', 'build'), args, {
    timeoutMs: options.timeoutMs ?? 1_800_000,
    echo: options.echo ?? '[build]',
  });
}

async function main(args: string[]): Promise<number> {
  const [command, image, platform] = args;
  if (command === 'setup') {
    const host = await arm64Host({ setup: true });
    for (const line of host.done) console.log(`done: ${line}`);
    for (const line of host.missing) console.error(`missing: ${line}`);
    if (host.ok)
      console.log('this machine runs linux/arm64 containers (qemu-user-static) and knows arm64 packages');
    return host.ok ? 0 : 1;
  }
  if (command === 'base' && image !== undefined) {
    const outcome = await ensureImage(image, { platform, log: (line) => console.error(line) });
    if (outcome.kind === 'missing') {
      console.error(`${outcome.name}: ${outcome.reason}`);
      return 1;
    }
    console.log(outcome.name);
    return 0;
  }
  console.error('usage: node tools/deploy/images.ts setup | base IMAGE [PLATFORM]');
  return 2;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]))
  process.exitCode = await main(process.argv.slice(2));
