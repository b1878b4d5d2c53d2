// What the figures were measured on, and the Docker facts the report adds where a daemon answers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';

export interface Machine {
  model: string;
  cpu: string;
  cores: number;
  memoryMiB: number;
  os: string;
  node: string;
}

export function machine(): Machine {
  // A Raspberry Pi names itself in the device tree; its /proc/cpuinfo often has no "model name".
  const board = existsSync('/proc/device-tree/model')
    ? readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim()
    : '';
  const cpu = cpus()[0]?.model?.trim() || 'unknown CPU';
  return {
    model: board,
    cpu,
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  };
}

/** Whether a Docker daemon answers; never starts one. */
export function dockerAnswers(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.status === 0 && r.stdout.trim() !== '';
}

export type ImageSize = { bytes: number; image: string } | { notMeasured: string; image: string };

/** The size of the stage's image, as built by its compose file; never builds or pulls. */
export function imageSize(stage: string, daemon: boolean): ImageSize {
  const image = `microservice-pie/${stage}`;
  if (!daemon) return { image, notMeasured: 'no Docker daemon answered' };
  const r = spawnSync('docker', ['image', 'inspect', image, '--format', '{{.Size}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const bytes = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isFinite(bytes) || bytes <= 0) {
    return { image, notMeasured: 'image not built (`docker compose build` in the stage)' };
  }
  return { bytes, image };
}
