/**
 * The deployment on three Pis, simulated on this machine (tools/deploy/cluster.ts): the play
 * `ansible-playbook deployment/pi.yml -i <inventory> -e stage=demo03` over SSH to three nodes, then what a speaker
 * shows on stage: the storefront on the front node, number-api scaled to three tasks with the creates spread over
 * them, etcd with three healthy members, and the loss of a Pi (node3, not the front node): how many creates fail,
 * how soon they work again, etcd keeping its quorum, node3's number-api task placed on a survivor.
 *
 *   CI=true npx vitest run tools/deploy/multinode.test.ts        (root; Linux)
 *
 * Needs root, iproute2, util-linux, openssh-server, docker.io (a daemon answering for the images), Ansible with
 * community.docker. Without them it is skipped on a laptop and fails under CI=true, with the reason.
 * PIE_DEPLOYMENT_DIR=<dir> runs the play from a copy of deployment/ instead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonAnswers, errorLines, run, which } from '../containers/docker.ts';
import { bookCreator } from '../containers/smoke.ts';
import { waitFor } from '../lib/wait.ts';
import { gatewayToken } from '../lib/gateway-login.ts';
import { gatewayPort, hasGateway } from '../lib/ports.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';
import { parseRecap } from './ansible.ts';
import { type Cluster, type ClusterNode, clusterPrerequisites, startCluster } from './cluster.ts';
import { provideUpstreamImages } from './upstream.ts';

const ci = process.env.CI === 'true';
const root = repoRoot();
// PIE_DEPLOYMENT_DIR tries a changed copy of deployment/ against the simulated Pis (default: the repository's).
const deployment = process.env.PIE_DEPLOYMENT_DIR ?? path.join(root, 'deployment');
const playbook = path.join(deployment, 'pi.yml');
const teardown = path.join(deployment, 'teardown.yml');
const stage = process.env.STAGE ?? existingStages(root).at(-1) ?? 'demo03';
/** Where a person opens the store: the gateway's port from the stage that has one. */
const storefrontPort = hasGateway(path.join(root, stage)) ? gatewayPort : 8080;
const stack = 'pie';
const front = '10.77.0.11';

const missing = [
  ...clusterPrerequisites(),
  ...(['ansible', 'ansible-playbook'] as const)
    .filter((p) => which(p) === undefined)
    .map((p) => `${p} is not installed (Debian: apt-get install ansible)`),
  ...(existsSync(playbook) ? [] : [`the play ${path.relative(root, playbook)} does not exist yet`]),
];

const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

/** Everything measured, printed in one block at the end (also when a step failed: what was measured by then). */
const figures: Record<string, string> = {};

function summary(): string {
  const width = Math.max(...Object.keys(figures).map((k) => k.length), 10);
  const rule = '='.repeat(100);
  return [
    rule,
    `MULTI-NODE SUMMARY (${stage} on 3 simulated Pis)`,
    ...Object.entries(figures).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    rule,
  ].join('\n');
}

/** `-e` for the services of the stack with no image on this machine, which the play leaves out. */
const leftOutVars: string[] = [];

describe.skipIf(missing.length > 0 && !ci)('three simulated Pis', () => {
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`cannot run the multi-node test: ${missing.join('; ')}`);
    if (!(await daemonAnswers()))
      throw new Error(
        "no Docker daemon answers on this machine: the nodes' upstream images and the stage image come from it",
      );
    const upstream = await provideUpstreamImages(path.join(deployment, 'stacks', `${stage}.yml`), log);
    if (!upstream.ok) throw new Error(`the nodes cannot have the images they pull: ${upstream.reason}`);
    if (upstream.leftOut.length > 0)
      leftOutVars.push('-e', JSON.stringify({ pie_left_out: upstream.leftOut }));
    cluster = await startCluster({ nodes: 3, log, images: upstream.images });
    for (const [phase, s] of Object.entries(cluster.phases)) figures[`start: ${phase}`] = `${s} s`;
  }, 300_000);

  afterAll(() => {
    if (Object.keys(figures).length > 0) console.log(summary());
    cluster?.stop(); // removing the nodes' data roots takes a few seconds
  }, 120_000);

  const c = (): Cluster => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    return cluster;
  };

  it('every node answers over SSH with its own hostname and its own daemon, and Ansible reaches them all', async () => {
    for (const node of c().nodes) {
      const r = await c().ssh(node, 'hostname; docker info --format {{.Name}}');
      expect(r.code, errorLines(r)).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([node.name, node.name]);
    }
    const ping = await run('ansible', ['-i', c().inventoryFile, 'all', '-m', 'ping'], {
      cwd: root,
      timeoutMs: 120_000,
    });
    console.log(ping.stdout);
    expect(ping.code, errorLines(ping)).toBe(0);
    expect(ping.stdout.match(/"?ping"?: "?pong"?/g)?.length).toBe(3);
    figures['ansible ping'] = `${c().nodes.length}/${c().nodes.length} pong in ${secs(ping.ms)}`;
    // The upstream images are there, the stage's image is not: the play brings it.
    for (const node of c().nodes) {
      const images = await c().docker(node, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
      for (const image of c().images) expect(images.stdout.split('\n')).toContain(image);
      expect(images.stdout).not.toContain(`microservice-pie/${stage}`);
    }
  }, 180_000);

  it(`the play deploys ${stage}; number-api spreads; etcd and the store survive the loss of node3`, async () => {
    const cl = c();
    const node1 = cl.node('node1');
    const node3 = cl.node('node3');

    // -- the play, as a person runs it from the repository root
    const play = await run(
      'ansible-playbook',
      [playbook, '-i', cl.inventoryFile, '-e', `stage=${stage}`, ...leftOutVars],
      {
        cwd: root,
        timeoutMs: 1_500_000,
        echo: '  [play]',
        env: { ...process.env, ANSIBLE_FORCE_COLOR: '0' },
      },
    );
    figures['play'] = `exit ${play.code} in ${secs(play.ms)}`;
    const recap = play.stdout.split('PLAY RECAP')[1]?.trim();
    if (recap !== undefined)
      figures['play recap'] = recap
        .split('\n')
        .map((l) => l.trim())
        .join(' | ');
    expect(play.code, fatalLines(play.stdout) || errorLines(play)).toBe(0);

    // -- a second run changes nothing on any node (joins, labels, the registry, the image copy)
    const again = await run(
      'ansible-playbook',
      [playbook, '-i', cl.inventoryFile, '-e', `stage=${stage}`, ...leftOutVars],
      {
        cwd: root,
        timeoutMs: 1_500_000,
        env: { ...process.env, ANSIBLE_FORCE_COLOR: '0' },
      },
    );
    const changedAgain = Object.values(parseRecap(again.stdout).hosts).map((host) => host.changed);
    figures['second run'] = `exit ${again.code} in ${secs(again.ms)}, changed=${changedAgain.join('/')}`;
    expect(again.code, fatalLines(again.stdout) || errorLines(again)).toBe(0);
    expect(changedAgain.length).toBeGreaterThan(0);
    expect(
      changedAgain.every((n) => n === 0),
      figures['second run'],
    ).toBe(true);

    // -- the storefront on the front node, from this machine
    const page = await waitFor(
      `the storefront on node1:${storefrontPort}`,
      async () => {
        const res = await fetch(`http://${front}:${storefrontPort}/`, { signal: AbortSignal.timeout(5_000) });
        const text = await res.text();
        return res.ok && text.toLowerCase().includes('<html') ? res.status : undefined;
      },
      60_000,
      500,
    );
    figures['storefront'] = `http://${front}:${storefrontPort}/ answered ${page.value}`;

    // -- from the gateway's stage on, every node is a way in: a gateway on each, one key for all
    if (hasGateway(path.join(root, stage))) {
      const token = await gatewayToken(`http://${front}:${gatewayPort}`, 'alice');
      const carts: string[] = [];
      for (const node of cl.nodes) {
        const cart = await waitFor(
          `a cart through ${node.name}'s gateway, with a token of node1's`,
          async () => {
            const res = await fetch(`http://${node.address}:${gatewayPort}/api/carts`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}` },
              signal: AbortSignal.timeout(5_000),
            }).catch(() => undefined);
            return res?.status === 201 ? res.headers.get('x-served-by') : undefined;
          },
          60_000,
          500,
        );
        carts.push(`${node.name}: ${cart.value}`);
      }
      figures['gateways'] = carts.join('; ');
      expect(new Set(carts.map((c) => c.split(': ')[1])).size).toBe(cl.nodes.length);
    }
    const create = bookCreator(
      front,
      hasGateway(path.join(root, stage)) ? { gateway: gatewayPort } : { bookApi: 8081 },
    );

    // -- number-api on three tasks, one per node, and the creates spread over them
    const scale = await cl.docker(node1, ['service', 'scale', '--detach', `${stack}_number-api=3`]);
    expect(scale.code, errorLines(scale)).toBe(0);
    const spread = await waitFor(
      'three number-api tasks running',
      async () => {
        const tasks = await runningTasks(cl, `${stack}_number-api`);
        return tasks.length === 3 ? tasks : undefined;
      },
      180_000,
      1_000,
    );
    figures['number-api tasks'] =
      `${spread.value.map((t) => t.node).join(', ')} (running ${secs(spread.ms)} after scale)`;
    const byInstance = new Map<string, number>();
    const served = await waitFor(
      'creates served by three number-api instances',
      async () => {
        const r = await create('Spread over the Pis');
        if (r.status === 201 && r.upstream !== null)
          byInstance.set(r.upstream, (byInstance.get(r.upstream) ?? 0) + 1);
        const total = [...byInstance.values()].reduce((a, b) => a + b, 0);
        return byInstance.size >= 3 && total >= 30 ? total : undefined;
      },
      120_000,
      50,
    );
    const containers = await containerNodes(cl, `${stack}_number-api`);
    figures['creates spread'] = [...byInstance]
      .map(([instance, n]) => `${instance} on ${nodeOfInstance(instance, containers) ?? '?'}: ${n}`)
      .join('; ');
    expect(byInstance.size).toBeGreaterThanOrEqual(3);
    expect(served.value).toBeGreaterThanOrEqual(30);

    // -- etcd: three members, all healthy
    const etcdBefore = await etcdHealth(cl, node1);
    figures['etcd before'] = `${etcdBefore.members} members, healthy: ${etcdBefore.healthy.join(', ')}`;
    expect(etcdBefore.members).toBe(3);
    expect(etcdBefore.healthy).toHaveLength(3);

    // -- node3 is lost: creates go on all the time; when do they work again, when is its task elsewhere
    const onNode3 = spread.value.filter((t) => t.node === node3.name).length;
    const results: { at: number; ok: boolean; status: number }[] = [];
    let loading = true;
    let killedAt = 0;
    const load = (async () => {
      while (loading) {
        const r = await create('While a Pi is lost');
        results.push({ at: Date.now(), ok: r.status === 201, status: r.status });
        await sleep(50);
      }
    })();
    await sleep(2_000);
    killedAt = Date.now();
    const killed = await cl.kill(node3);
    figures['node3 killed'] =
      `${killed.processes} processes (dockerd, containerd, shims, containers, sshd) in ${killed.ms} ms, link down`;

    const down = waitFor(
      'node3 Down in the swarm',
      async () => {
        const r = await cl.docker(node1, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'], 10_000);
        return r.stdout.split('\n').some((l) => l.trim() === `${node3.name} Down`) ? true : undefined;
      },
      120_000,
      500,
    );
    const rescheduled = waitFor(
      "node3's number-api task running on a survivor",
      async () => {
        const tasks = await runningTasks(cl, `${stack}_number-api`);
        return tasks.length === 3 && tasks.every((t) => t.node !== node3.name) ? tasks : undefined;
      },
      180_000,
      500,
    );
    const [downResult, rescheduledResult] = await Promise.allSettled([down, rescheduled]);
    if (downResult.status === 'fulfilled')
      figures['node3 Down after'] = secs(downResult.value.ms + killed.ms);
    if (rescheduledResult.status === 'fulfilled')
      figures['number-api rescheduled after'] =
        `${secs(rescheduledResult.value.ms + killed.ms)} (${onNode3} task(s) had run on node3; now on ${rescheduledResult.value.value
          .map((t) => t.node)
          .join(', ')})`;
    await sleep(3_000); // a few more creates after the new task is in
    loading = false;
    await load;

    const after = results.filter((r) => r.at >= killedAt);
    const failed = after.filter((r) => !r.ok);
    const lastFailure = failed.at(-1);
    const backAt =
      lastFailure === undefined ? undefined : after.find((r) => r.ok && r.at > lastFailure.at)?.at;
    figures['creates during the loss'] =
      `${after.length} sent, ${failed.length} failed` +
      (failed.length > 0 ? ` (statuses ${[...new Set(failed.map((f) => f.status))].join(', ')})` : '');
    figures['creates work again after'] =
      lastFailure === undefined
        ? '0 s (none failed)'
        : backAt === undefined
          ? 'not within the run'
          : secs(backAt - killedAt);

    const etcdAfter = await etcdHealth(cl, node1);
    figures['etcd after'] =
      `healthy: ${etcdAfter.healthy.join(', ')} (${etcdAfter.healthy.length} of 3: quorum ${
        etcdAfter.healthy.length >= 2 ? 'kept' : 'LOST'
      })`;

    expect(rescheduledResult.status, String((rescheduledResult as PromiseRejectedResult).reason)).toBe(
      'fulfilled',
    );
    expect(etcdAfter.healthy.length).toBe(2);
    expect(after.at(-1)?.ok, 'the last create after the loss must succeed').toBe(true);

    // -- the stage comes down again with the play's own teardown, limited to the Pis that are left (as a person
    // would: node3 is gone, and a play fails on a host it cannot reach)
    const down2 = await run(
      'ansible-playbook',
      [teardown, '-i', cl.inventoryFile, '--limit', `all:!${node3.name}`],
      {
        cwd: root,
        timeoutMs: 300_000,
        echo: '  [teardown]',
      },
    );
    figures['teardown play'] = `exit ${down2.code} in ${secs(down2.ms)}`;
    expect(down2.code, fatalLines(down2.stdout) || errorLines(down2)).toBe(0);
    const left = await cl.docker(node1, ['stack', 'services', stack, '--format', '{{.Name}}']);
    expect(left.stdout.trim()).toBe('');
  }, 1_800_000);
});

/** Ansible's `fatal:` lines and the lines right after them (the message), for an assertion's message. */
function fatalLines(output: string): string {
  const lines = output.split('\n');
  const picked: string[] = [];
  lines.forEach((line, i) => {
    if (/^fatal:|^failed:|FAILED!/.test(line)) picked.push(...lines.slice(Math.max(0, i - 2), i + 12));
  });
  return picked.slice(0, 60).join('\n');
}

interface Task {
  id: string;
  node: string;
}

/** The service's tasks that are running now (desired and current state), with their node. */
async function runningTasks(cluster: Cluster, service: string): Promise<Task[]> {
  const node1 = cluster.node('node1');
  const r = await cluster.docker(
    node1,
    [
      'service',
      'ps',
      service,
      '--filter',
      'desired-state=running',
      '--format',
      '{{.ID}} {{.Node}} {{.CurrentState}}',
    ],
    15_000,
  );
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2] === 'Running')
    .map((f) => ({ id: f[0] ?? '', node: f[1] ?? '' }));
}

/** Container id (12 characters, the container's hostname) → node, for the service's containers on live nodes. */
async function containerNodes(cluster: Cluster, service: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const node of cluster.nodes.filter((n) => n.alive)) {
    const r = await cluster.docker(node, [
      'ps',
      '--filter',
      `label=com.docker.swarm.service.name=${service}`,
      '--format',
      '{{.ID}}',
    ]);
    for (const id of r.stdout.split('\n').filter((l) => l.trim() !== '')) map.set(id.trim(), node.name);
  }
  return map;
}

/** number-api/<hostname>:<port>, or an address: the node whose container it is. */
function nodeOfInstance(instance: string, containers: Map<string, string>): string | undefined {
  for (const [id, node] of containers) if (instance.includes(id)) return node;
  return undefined;
}

/**
 * etcd's members and which of etcd-1..3 answer /health with "true", asked from inside a container of the stage on
 * node1 (etcd is on the overlay network only; the stage image has node and fetch).
 */
async function etcdHealth(
  cluster: Cluster,
  node: ClusterNode,
): Promise<{ members: number; healthy: string[] }> {
  // The front node always runs the store's published service (book-api up to demo05, the gateway from demo06).
  const service = hasGateway(path.join(root, stage)) ? 'gateway' : 'book-api';
  const ps = await cluster.docker(node, [
    'ps',
    '--filter',
    `label=com.docker.swarm.service.name=${stack}_${service}`,
    '--format',
    '{{.ID}}',
  ]);
  const container = ps.stdout.trim().split('\n')[0];
  if (ps.code !== 0 || container === undefined || container === '')
    throw new Error(`no ${service} container on ${node.name} to ask etcd from: ${errorLines(ps)}`);
  const script = `
    const names = ['etcd-1', 'etcd-2', 'etcd-3'];
    const healthy = [];
    let members = 0;
    for (const name of names) {
      try {
        const res = await fetch('http://' + name + ':2379/health', { signal: AbortSignal.timeout(3000) });
        const body = await res.json();
        if (body.health === 'true') healthy.push(name);
        if (members === 0) {
          const list = await fetch('http://' + name + ':2379/v3/cluster/member/list', {
            method: 'POST', body: '{}', signal: AbortSignal.timeout(3000) });
          members = ((await list.json()).members ?? []).length;
        }
      } catch {}
    }
    console.log(JSON.stringify({ members, healthy }));`;
  const r = await cluster.docker(
    node,
    ['exec', container, 'node', '--input-type=module', '-e', script],
    60_000,
  );
  if (r.code !== 0) throw new Error(`asking etcd from ${container}: ${errorLines(r)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { members: number; healthy: string[] };
}
