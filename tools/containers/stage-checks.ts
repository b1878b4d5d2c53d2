/**
 * A stage's own container checks: each `demoNN/test/containers/*.ts` default-exports a `StageChecks`, and the
 * containers layer runs them against the stack it brought up, after the checks every stage has. A capability's
 * checks live in the stage that brings it; every later stage, a copy, runs them too.
 *
 * Those files import what they need from here and from the harness's modules, never `vitest` itself: resolved
 * from a stage folder, that would be the stage's own copy of vitest, not the one running the layer.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ComposeStack, ContainerState } from './compose.ts';
import type { StackEtcd } from './registry.ts';
import type { BookCreate, Published } from './smoke.ts';

export { afterAll, describe, expect, it } from 'vitest';

/** The running stack, as a stage's checks see it; read it inside a test (it is up only then). */
export interface RunningStack {
  readonly stage: string;
  readonly stack: ComposeStack;
  /** Every container, as last seen healthy. */
  readonly states: ContainerState[];
  /** The containers of the store's services (not the infrastructure's). */
  readonly appContainers: ContainerState[];
  /** The host port each published service is reached at. */
  readonly published: Published;
  /** Instances per service the stack runs (`docker compose up --scale`); 1 when not named. */
  readonly scale: Record<string, number>;
  /** The services as the compose file declares them. */
  readonly declared: Record<string, unknown>;
  /** What goes into .test-output/containers-<stage>.json. */
  readonly report: Record<string, unknown>;
  /** The stack's etcd, read with its own etcdctl. */
  etcd(): Promise<StackEtcd>;
  /** One book create through book-api's published port, each with its own title. */
  createBook(): Promise<BookCreate>;
  /** Waits until `count` containers are healthy again (after a stop and start), and remembers them. */
  waitHealthy(count: number, timeoutMs: number): Promise<ContainerState[]>;
  /** Call first in every test: a failure then shows the stack's state and logs before it goes down. */
  markFailure(): void;
}

export interface StageChecks {
  /** Instances per service to run (`docker compose up --scale number-api=3`), as a speaker runs the stage. */
  scale?: Record<string, number>;
  /** Defines the checks (`describe`, `it`) against the running stack. */
  define(stack: RunningStack): void;
}

/** The checks in `<stageDir>/test/containers/`, in file name order. */
export async function stageChecks(stageDir: string): Promise<{ file: string; checks: StageChecks }[]> {
  const dir = path.join(stageDir, 'test', 'containers');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  } catch {
    return [];
  }
  const found = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: StageChecks };
    if (typeof module.default?.define !== 'function')
      throw new Error(`${path.join(dir, file)}: its default export is not a StageChecks`);
    found.push({ file, checks: module.default });
  }
  return found;
}
