// kill-instance-under-load: three number-api instances behind the client-side load balancer; books are created
// steadily (each create asks number-api for an ISBN); one number-api instance is killed with SIGKILL in the
// middle. How many requests failed, how slow was the slowest, and how long until every request went to the
// survivors? Run by the repository's bench (`npm run scenario -- kill-instance-under-load`), which finds it here.
import { runLoad } from '../../tools/bench/load.ts';
import { SERVICE_URLS } from '../../tools/bench/paths.ts';
import { analyseKill, type Instance, registeredInstances } from '../../tools/bench/scenarios/kit.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from '../../tools/bench/scenarios/types.ts';
import { etcdPorts } from '../../tools/lib/ports.ts';
import { startLocalStage } from '../../tools/lib/stage-process.ts';
import { waitFor } from '../../tools/lib/wait.ts';

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const endpoint = (process.env.ETCD_ENDPOINTS ?? `http://127.0.0.1:${etcdPorts.client}`).split(',')[0] ?? '';
  ctx.log(`starting ${ctx.stage} with three number-api instances`);
  const stage = await startLocalStage(ctx.stageDir, 90_000, {
    args: ['--scale', 'number-api=3'],
    // A catalog holds 10 000 items by default: a run creates more, and its failures would be 507s, not the kill's.
    env: { CATALOG_MAX_ITEMS: '1000000' },
    build: false,
    outputLimit: 200_000,
  });
  try {
    const { value: instances } = await waitFor(
      `three number-api instances registered in etcd at ${endpoint}`,
      async () => {
        const listed = await registeredInstances(endpoint, 'number-api');
        return listed.length >= 3 ? listed : undefined;
      },
      15_000,
      250,
    );
    const victim = instances[0] as Instance;
    const killAfterMs = Math.round((ctx.durationS * 1000) / 3);
    ctx.log(
      `${instances.length} number-api instances: ${instances.map((i) => i.instanceId).join(', ')}; ` +
        `creating books for ${ctx.durationS} s over ${ctx.connections} connections, ` +
        `SIGKILL to ${victim.instanceId} (pid ${victim.pid}) after ${killAfterMs} ms`,
    );
    let killAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const records = await runLoad(
      {
        kind: 'timeline',
        url: SERVICE_URLS.book,
        path: '/api/books',
        method: 'POST',
        body: 'book',
        connections: ctx.connections,
        durationS: ctx.durationS,
        servedByHeader: 'x-upstream-served-by',
        timeoutMs: 10_000,
      },
      () => {
        timer = setTimeout(() => {
          killAt = performance.timeOrigin + performance.now();
          process.kill(victim.pid, 'SIGKILL');
        }, killAfterMs);
      },
    ).finally(() => clearTimeout(timer));
    if (!killAt) throw new Error('the load ended before the instance was killed');
    const { figures, notes } = analyseKill(records, killAt, victim.instanceId);
    return {
      scenario: 'kill-instance-under-load',
      stage: ctx.stage,
      action:
        `${ctx.connections} connections creating books (POST /api/books → number-api ×${instances.length}) ` +
        `for ${ctx.durationS} s; one number-api instance killed with SIGKILL after ${killAfterMs} ms`,
      figures,
      notes,
    };
  } finally {
    await stage.stop();
  }
}

const scenario: Scenario = {
  name: 'kill-instance-under-load',
  description: 'one of three number-api instances killed with SIGKILL while books are being created',
  run,
};

export default scenario;
