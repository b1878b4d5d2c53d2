// Runs the load generator (load-worker.ts) as its own process and reads its answer.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CannonJob, CannonResult, TimelineJob, TimelineRecord } from './load-worker.ts';

const worker = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** Runs one job; `onStarted` is called with the epoch ms at which the measured load began. */
export function runLoad(job: CannonJob, onStarted?: (at: number) => void): Promise<CannonResult>;
export function runLoad(job: TimelineJob, onStarted?: (at: number) => void): Promise<TimelineRecord[]>;
export function runLoad(
  job: CannonJob | TimelineJob,
  onStarted?: (at: number) => void,
): Promise<CannonResult | TimelineRecord[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    let stdout = '';
    let stderr = '';
    let pending = '';
    let result: string | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('STARTED ')) onStarted?.(Number(line.slice(8)));
        else if (line.startsWith('RESULT ')) result = line.slice(7);
        else stdout += `${line}\n`;
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      process.removeListener('exit', kill);
      if (code === 0 && result !== undefined) resolve(JSON.parse(result));
      else reject(new Error(`the load generator failed (exit ${code}):\n${stdout}${stderr}`));
    });
  });
}
