import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { daemonAnswers } from './containers/docker.ts';
import { storefrontUrlOf } from './lib/ports.ts';
import { ensureInstalled, type LocalStage, startLocalStage } from './lib/stage-process.ts';
import { existingStages, repoRoot } from './stage/stages.ts';

/**
 * `npm test`: every layer of every stage that this machine can run, then one summary of what ran, what was
 * skipped and why. With CI=true a skipped layer is a failure. Options: `-- demo01 demo02` picks stages,
 * `--layers unit,browser` picks layers.
 */

const root = repoRoot();
const ci = process.env.CI === 'true';
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const args = process.argv.slice(2);
const layersArg = args.find((a) => a.startsWith('--layers='))?.slice('--layers='.length);
const allLayers = ['tools', 'unit+integration', 'browser', 'docs', 'containers', 'deployment'] as const;
type Layer = (typeof allLayers)[number];
const chosenLayers = new Set<string>(layersArg ? layersArg.split(',') : allLayers);
const chosenStages = args.filter((a) => !a.startsWith('--'));
const stages = chosenStages.length > 0 ? chosenStages : existingStages(root);

interface Outcome {
  layer: Layer;
  stage: string;
  result: 'passed' | 'failed' | 'skipped';
  passed: number;
  failed: number;
  seconds: number;
  note: string;
  /** The failed tests, a line each (from the JSON report). */
  failures?: string[];
  /** The tests that passed only on their retry. */
  flaky?: string[];
}
const outcomes: Outcome[] = [];

/**
 * The arguments of `npm start -- …` in the README's ```bash start block: the docs run against the stage as the
 * README tells a person to start it (with --scale, say).
 */
function readmeStartArgs(stageDir: string): string[] {
  const readme = readFileSync(join(stageDir, 'README.md'), 'utf8');
  const block = /^```bash start\n([\s\S]*?)^```/m.exec(readme)?.[1] ?? '';
  const line = block.split('\n').find((l) => l.startsWith('npm start')) ?? '';
  return line.includes(' -- ')
    ? line
        .slice(line.indexOf(' -- ') + 4)
        .split(/\s+/)
        .filter(Boolean)
    : [];
}

function heading(text: string) {
  console.log(`\n\x1b[1m━━ ${text}\x1b[0m`);
}

/** Runs vitest in a folder, with the usual console output plus a JSON report to count tests. */
function vitest(
  cwd: string,
  files: string[],
  env: Record<string, string>,
  report: string,
  extra: string[] = [],
) {
  rmSync(report, { force: true });
  const run = spawnSync(
    'npx',
    [
      'vitest',
      'run',
      ...files,
      ...extra,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
    ],
    {
      cwd,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    },
  );
  const json = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : undefined;
  return {
    ok: run.status === 0,
    failures: failuresIn(json),
    flaky: flakyIn(json),
    passed: (json?.numPassedTests as number) ?? 0,
    failed: (json?.numFailedTests as number) ?? (run.status === 0 ? 0 : 1),
    skipped: (json?.numPendingTests as number) ?? 0,
  };
}

type VitestReport = {
  testResults?: {
    name: string;
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
};

/** Each failed test as one line (file, name, the first line of why), for the summary at the end of a long log. */
function failuresIn(json: VitestReport | undefined): string[] {
  const firstLine = (text = '') => text.split('\n').find((l) => l.trim() !== '') ?? '';
  return (json?.testResults ?? []).flatMap((file) => {
    const name = relative(root, file.name);
    const failed = file.assertionResults.filter((t) => t.status === 'failed');
    if (failed.length === 0 && file.message) return [`${name}: ${firstLine(file.message)}`];
    return failed.map((t) => `${name} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`.slice(0, 400));
  });
}

/** Each test that failed once and passed on its retry, with why it failed: flaky, and said so. */
function flakyIn(json: VitestReport | undefined): string[] {
  return (json?.testResults ?? []).flatMap((file) =>
    file.assertionResults
      .filter((t) => t.status === 'passed' && (t.failureMessages?.length ?? 0) > 0)
      .map((t) => {
        const why = t.failureMessages?.[0]?.split('\n').find((l) => l.trim() !== '') ?? '';
        return `${relative(root, file.name)} > ${t.fullName}: ${why}`.slice(0, 400);
      }),
  );
}

async function layer(
  name: Layer,
  stage: string,
  run: () => Promise<Omit<Outcome, 'layer' | 'stage' | 'seconds'>>,
) {
  if (!chosenLayers.has(name)) return;
  heading(`${name}${stage ? ` · ${stage}` : ''}`);
  const started = performance.now();
  let outcome: Omit<Outcome, 'layer' | 'stage' | 'seconds'>;
  try {
    outcome = await run();
  } catch (err) {
    outcome = { result: 'failed', passed: 0, failed: 1, note: (err as Error).message.split('\n')[0] ?? '' };
    console.error(err);
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  outcomes.push({ layer: name, stage, seconds, ...outcome });
}

const fromVitest = (r: ReturnType<typeof vitest>, note = '') => ({
  failures: r.failures,
  flaky: r.flaky,
  result: (r.ok ? (r.passed === 0 && r.skipped > 0 ? 'skipped' : 'passed') : 'failed') as Outcome['result'],
  passed: r.passed,
  failed: r.failed,
  note: r.ok && r.passed === 0 && r.skipped > 0 ? `all ${r.skipped} tests skipped ${note}` : note,
});

const skipped = (note: string) => ({ result: 'skipped' as const, passed: 0, failed: 0, note });

/** A skipped outcome when no Docker daemon answers and the tests may not start one (root under CI, or asked to). */
async function dockerMissing() {
  const mayStartDaemon = process.getuid?.() === 0 && (ci || process.env.PIE_START_DOCKER === '1');
  if ((await daemonAnswers()) || mayStartDaemon) return undefined;
  return skipped('no Docker daemon (start one, or as root set PIE_START_DOCKER=1 to let the tests start it)');
}

const output = join(root, '.test-output');
mkdirSync(output, { recursive: true });

// Every stage is installed once, before any layer: the tools layer reads the stages' own code (the OpenAPI
// documents), and a second `npm ci` of the same lockfile would only cost time.
for (const stage of stages) {
  const stageDir = join(root, stage);
  if (!existsSync(join(stageDir, 'package.json'))) {
    console.error(`no stage at ${relative(root, stageDir) || stageDir}`);
    process.exit(2);
  }
  ensureInstalled(stageDir, ci);
}

await layer('tools', '', async () =>
  fromVitest(
    vitest(root, ['tools/test', 'tools/bench'], {}, join(output, 'tools.json')),
    '(stage tooling, compose files, bench)',
  ),
);

for (const stage of stages) {
  const stageDir = join(root, stage);
  const reportDir = join(output, stage);
  mkdirSync(reportDir, { recursive: true });

  // Under CI a test of real processes that fails once runs once more: it still fails the layer when it fails
  // twice, and a pass on the retry is listed as flaky in the summary rather than hidden.
  await layer('unit+integration', stage, async () =>
    fromVitest(vitest(stageDir, [], {}, join(reportDir, 'unit-integration.json'), ci ? ['--retry=1'] : [])),
  );

  // The browser and docs layers share one running stage, started as the README's `bash start` block says.
  let running: LocalStage | undefined;
  const needsStage = chosenLayers.has('browser') || chosenLayers.has('docs');
  if (needsStage) {
    try {
      running = await startLocalStage(stageDir, 60_000, { args: readmeStartArgs(stageDir) });
      console.log(`${stage} ready in ${running.readyAfterMs} ms (local processes)`);
    } catch (err) {
      console.error((err as Error).message);
    }
  }
  const e2eEnv = { STAGE: stage, STOREFRONT_URL: storefrontUrlOf(stageDir) };
  const notRunning = { result: 'failed' as const, passed: 0, failed: 1, note: 'the stage did not start' };

  await layer('browser', stage, async () => {
    if (!existsSync(chromium)) return skipped(`no Chromium at ${chromium} (apt-get install chromium)`);
    if (!running) return notRunning;
    return fromVitest(vitest(root, ['tools/e2e/browser.test.ts'], e2eEnv, join(reportDir, 'browser.json')));
  });
  await layer('docs', stage, async () => {
    if (!running) return notRunning;
    return fromVitest(vitest(root, ['tools/e2e/docs.test.ts'], e2eEnv, join(reportDir, 'docs.json')));
  });
  await running?.stop();

  await layer('containers', stage, async () => {
    const noDocker = await dockerMissing();
    if (noDocker) return noDocker;
    return fromVitest(
      vitest(
        root,
        ['tools/containers/containers.test.ts'],
        { STAGE: stage },
        join(reportDir, 'containers.json'),
      ),
    );
  });
}

// The deployment layer, once, for the newest stage: lint, a real run of deployment/pi.yml on this machine's
// daemon as a one-node swarm, the arm64 image booted under emulation, and a cluster of simulated Pis. One file at a
// time: they share the daemon, the stage's ports and the swarm.
const newest = stages.at(-1);
if (newest !== undefined) {
  await layer('deployment', newest, async () => {
    const noDocker = await dockerMissing();
    if (noDocker) return noDocker;
    return fromVitest(
      vitest(
        root,
        [
          'tools/deploy/lint.test.ts',
          'tools/deploy/local.test.ts',
          'tools/deploy/arm64.test.ts',
          'tools/deploy/multinode.test.ts',
        ],
        { STAGE: newest },
        join(output, 'deployment.json'),
        ['--no-file-parallelism'],
      ),
      '(Ansible on a one-node swarm, arm64 boot, simulated Pis)',
    );
  });
}

heading('summary');
const width = Math.max(...outcomes.map((o) => `${o.layer} ${o.stage}`.length));
for (const o of outcomes) {
  const mark =
    o.result === 'passed'
      ? '\x1b[32mran    \x1b[0m'
      : o.result === 'failed'
        ? '\x1b[31mFAILED \x1b[0m'
        : '\x1b[33mskipped\x1b[0m';
  const counts = o.result === 'skipped' ? '' : `${o.passed} passed, ${o.failed} failed`;
  console.log(
    `${`${o.layer} ${o.stage}`.padEnd(width)}  ${mark}  ${counts.padEnd(24)} ${String(o.seconds).padStart(6)} s  ${o.note}`,
  );
}
const failedLayers = outcomes.filter((o) => o.result === 'failed');
for (const o of outcomes.filter((o) => (o.flaky?.length ?? 0) > 0)) {
  console.log(`\n\x1b[33mflaky in ${o.layer} ${o.stage} (failed once, passed on the retry):\x1b[0m`);
  for (const line of o.flaky ?? []) console.log(`  ${line}`);
}
for (const o of failedLayers) {
  console.log(`\n\x1b[31mfailed in ${o.layer} ${o.stage}:\x1b[0m`);
  for (const line of o.failures?.length ? o.failures : [o.note]) console.log(`  ${line}`);
}
const skippedLayers = outcomes.filter((o) => o.result === 'skipped');
if (ci && skippedLayers.length > 0)
  console.log(`CI=true: ${skippedLayers.length} skipped layer(s) count as failures`);
const passed = outcomes.reduce((sum, o) => sum + o.passed, 0);
const failed = outcomes.reduce((sum, o) => sum + o.failed, 0) + (ci ? skippedLayers.length : 0);
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failedLayers.length > 0 || (ci && skippedLayers.length > 0) ? 1 : 0);
