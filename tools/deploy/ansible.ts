/**
 * Runs `ansible-playbook` from the repository root as an operator does (the root's ansible.cfg applies), keeps its
 * whole output in a log file, and reads the PLAY RECAP into numbers a test can check.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stage/stages.ts';

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface PlaybookRun {
  code: number;
  output: string;
  /** The PLAY RECAP block as Ansible printed it. */
  recapText: string;
  recap: Record<string, HostRecap>;
  seconds: number;
}

/** The hosts' lines of a PLAY RECAP: `local : ok=12 changed=0 unreachable=0 failed=0 skipped=3 ...`. */
export function parseRecap(output: string): { text: string; hosts: Record<string, HostRecap> } {
  const start = output.lastIndexOf('PLAY RECAP');
  if (start < 0) return { text: '', hosts: {} };
  const lines = output.slice(start).split('\n');
  const hostLines: string[] = [];
  for (const line of lines.slice(1)) {
    if (!/^\S+\s+:\s+ok=/.test(line)) break;
    hostLines.push(line.trimEnd());
  }
  const hosts: Record<string, HostRecap> = {};
  for (const line of hostLines) {
    const [host, counts] = line.split(/\s+:\s+/, 2);
    if (host === undefined || counts === undefined) continue;
    const value = (key: string) => Number(new RegExp(`\\b${key}=(\\d+)`).exec(counts)?.[1] ?? Number.NaN);
    hosts[host] = {
      ok: value('ok'),
      changed: value('changed'),
      unreachable: value('unreachable'),
      failed: value('failed'),
      skipped: value('skipped'),
      rescued: value('rescued'),
      ignored: value('ignored'),
    };
  }
  return { text: [lines[0], ...hostLines].join('\n'), hosts };
}

export interface PlaybookOptions {
  inventory?: string;
  /** `-e name=value`; a list goes as JSON, so that Ansible reads a list. */
  extraVars?: Record<string, string | string[]>;
  /** Where the whole output goes (created). */
  logFile: string;
  /** Called for each line Ansible prints that names a play, a task or a failure (progress for the test's output). */
  progress?: (line: string) => void;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function runPlaybook(playbook: string, options: PlaybookOptions): Promise<PlaybookRun> {
  const root = repoRoot();
  const args = [playbook];
  if (options.inventory !== undefined) args.push('-i', options.inventory);
  for (const [key, value] of Object.entries(options.extraVars ?? {}))
    args.push('-e', Array.isArray(value) ? JSON.stringify({ [key]: value }) : `${key}=${value}`);
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  log.write(`$ ansible-playbook ${args.join(' ')}\n`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ansible-playbook', args, {
      cwd: root,
      env: { ...process.env, ANSIBLE_FORCE_COLOR: '0', ANSIBLE_NOCOLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      log.write(text);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (/^(PLAY|TASK) \[|^fatal:|^failed:/.test(line)) options.progress?.(line.replace(/\s\*+$/, ''));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 15 * 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      log.end();
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      log.end();
      const recap = parseRecap(output);
      resolve({
        code: code ?? 1,
        output,
        recapText: recap.text,
        recap: recap.hosts,
        seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
      });
    });
  });
}

/** Sum of one counter over every host of a recap. */
export const total = (recap: Record<string, HostRecap>, key: keyof HostRecap): number =>
  Object.values(recap).reduce((sum, host) => sum + host[key], 0);

/** The failing tasks' lines of a run, for an assertion message. */
export const failures = (run: PlaybookRun): string =>
  run.output
    .split('\n')
    .filter((line) => /^(fatal|failed):|msg:/.test(line.trim()))
    .slice(-12)
    .join('\n');
