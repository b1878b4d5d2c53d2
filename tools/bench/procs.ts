// The processes of a running stage and their memory: the runner (`dist/local/start-all.js`) and everything it started.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Proc {
  pid: number;
  ppid: number;
  rssKiB: number;
  args: string[];
}

/** Every process with its parent, resident memory and command line: from /proc on Linux, else from `ps`. */
function processTable(): Proc[] {
  if (existsSync('/proc/self/status')) {
    const procs: Proc[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
        procs.push({
          pid: Number(entry),
          ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0),
          rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
          args,
        });
      } catch {
        // gone while we looked
      }
    }
    return procs;
  }
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,rss=,command='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      rssKiB: Number(m[3]),
      args: (m[4] ?? '').split(' '),
    }));
}

/** The name a person would give a process of a stage: its service, or the program (etcd, prometheus…). */
export function nameOf(args: string[]): string {
  for (const arg of args) {
    const service = /(?:^|\/)services\/([^/]+)\/main\.[cm]?js$/.exec(arg);
    if (service?.[1]) return service[1];
  }
  return basename(args[0] ?? '?');
}

export interface StageProcess {
  pid: number;
  name: string;
  rssKiB: number;
}

/** The processes under `rootPid` (not the root itself), children before grandchildren, ordered by pid. */
export function descendants(rootPid: number): StageProcess[] {
  const table = processTable();
  const out: StageProcess[] = [];
  let level = [rootPid];
  while (level.length > 0) {
    const next = table.filter((p) => level.includes(p.ppid)).sort((a, b) => a.pid - b.pid);
    out.push(...next.map((p) => ({ pid: p.pid, name: nameOf(p.args), rssKiB: p.rssKiB })));
    level = next.map((p) => p.pid);
  }
  return out;
}

export function rssOf(pid: number): number | undefined {
  return processTable().find((p) => p.pid === pid)?.rssKiB;
}

/**
 * Resident memory of each process under the runner, keyed by name; a second instance of a service is
 * `number-api#2`, and so on.
 */
export function stageMemory(runnerPid: number): {
  runnerKiB: number | undefined;
  byName: Record<string, number>;
} {
  const byName: Record<string, number> = {};
  for (const p of descendants(runnerPid)) {
    let key = p.name;
    for (let i = 2; key in byName; i++) key = `${p.name}#${i}`;
    byName[key] = p.rssKiB;
  }
  return { runnerKiB: rssOf(runnerPid), byName };
}
