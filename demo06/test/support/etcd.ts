import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdHealthy } from '../../src/local/etcd.js';
import { waitUntil } from '../../src/local/wait.js';
import { freePort } from './processes.js';

/**
 * Real etcd for the tests: Debian's `etcd` binary (package etcd-server) on free loopback ports, one member or
 * a cluster, each with a throw-away data directory. Members can be killed, stopped and started again.
 */

export interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
  output: string;
}

export class EtcdCluster {
  readonly members: Member[];

  private constructor(members: Member[]) {
    this.members = members;
  }

  /**
   * Starts `size` members forming one cluster and waits until it is healthy. Its free ports are chosen before
   * etcd binds them, so a test running beside it may take one meanwhile: then it starts again on new ones.
   */
  static async start(size = 1): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await EtcdCluster.plan(size);
      try {
        await Promise.all(cluster.members.map((m) => cluster.startMember(m)));
        return cluster;
      } catch (err) {
        await cluster.stop();
        if (attempt === 3 || !/address already in use/.test((err as Error).message)) throw err;
      }
    }
  }

  /** Chooses ports and data directories without starting anything: services can be started first. */
  static async plan(size = 1): Promise<EtcdCluster> {
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({
        name: `m${i}`,
        clientUrl: `http://127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        dataDir: mkdtempSync(join(tmpdir(), 'pie-etcd-test-')),
        output: '',
      });
    }
    return new EtcdCluster(members);
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** ETCD_ENDPOINTS for a service. */
  get env(): string {
    return this.endpoints.join(',');
  }

  async startMember(member: Member): Promise<void> {
    const cluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const child = spawn(
      'etcd',
      [
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.clientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        '--heartbeat-interval=50',
        '--election-timeout=500',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    member.process = child;
    member.output = '';
    child.stdout.on('data', (c) => (member.output += c));
    child.stderr.on('data', (c) => (member.output += c));
    const up = await waitUntil(
      async () => child.exitCode !== null || (await etcdHealthy(member.clientUrl)),
      20_000,
      100,
    );
    if (child.exitCode !== null) throw new Error(`etcd ${member.name} exited:\n${member.output}`);
    if (!up) throw new Error(`etcd ${member.name} was not healthy within 20 s:\n${member.output}`);
  }

  /** SIGKILL (crash) or SIGTERM (clean stop); the data directory stays, so the member can start again. */
  async stopMember(member: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = member.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, 'exit');
  }

  /** The member that is the leader now. */
  async leader(): Promise<Member> {
    for (const member of this.members) {
      if (!member.process || member.process.exitCode !== null || member.process.signalCode !== null) continue;
      const status = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })
        .then((r) => r.json() as Promise<{ leader?: string; header?: { member_id?: string } }>)
        .catch(() => undefined);
      if (status?.leader !== undefined && status.leader === status.header?.member_id) return member;
    }
    throw new Error('no member is the leader');
  }

  /** Stopped, its data deleted, started again on the same ports: a registry that forgot everything. */
  async restartEmpty(member: Member): Promise<void> {
    await this.stopMember(member, 'SIGKILL');
    rmSync(member.dataDir, { recursive: true, force: true });
    await this.startMember(member);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m, 'SIGKILL')));
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
  }
}

/** The instances registered for a service, straight from etcd (not through the code under test). */
export async function registeredInstances(clientUrl: string, service: string): Promise<string[]> {
  const prefix = `/pie/services/${service}/`;
  const end = `/pie/services/${service}0`;
  const reply = (await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({
      key: Buffer.from(prefix).toString('base64'),
      range_end: Buffer.from(end).toString('base64'),
    }),
  }).then((r) => r.json())) as { kvs?: { key: string }[] };
  return (reply.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString().slice(prefix.length));
}
