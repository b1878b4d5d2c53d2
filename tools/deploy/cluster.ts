/**
 * Simulated Raspberry Pis on this machine, for the deployment layer's multi-node test: N nodes, each with its own
 * network namespace and address (10.77.0.11, .12, …), its own dockerd (hostname node1…, /etc/docker, data root)
 * and its own sshd, so Ansible reaches every node over SSH as it reaches real Pis, and `docker` in an SSH
 * session talks to that node's daemon. `stop()` leaves the machine as it was; it also runs when the process
 * exits or is signalled, and `node tools/deploy/cluster.ts stop` clears what a killed run left behind.
 *
 * The layout (each choice is forced by what fails otherwise):
 * - The LAN is a bridge (br0) in its own namespace (`pie-cluster-lan`): in the root namespace, bridged frames
 *   go through the FORWARD chain the machine's dockerd set to DROP. Each node is a veth into it (eth0 in the
 *   node), and `pie-gw` (10.77.0.1/24) is a veth from it into the root namespace, so the tests reach the nodes.
 *   The nodes have no default route: nothing they send leaves 10.77.0.0/24.
 * - A node's dockerd runs in a private mount and UTS namespace (`unshare -m -u --propagation slave`) entered into
 *   the node's network namespace with `nsenter --net` (`ip netns exec` remounts /sys: "Devices cgroup isn't
 *   mounted"). Inside it: hostname nodeN; a per-node directory over /etc/docker (its own key.json, so its own
 *   engine ID, and its own certs.d), its own empty /opt (where the play keeps node-side files),
 *   /etc/resolv.conf pointing at the node itself (a lookup fails at once instead of waiting 30 s for a registry
 *   that cannot be reached), /etc/hosts; and a fresh tmpfs over /run, so the
 *   daemon's exec root, /run/docker.sock and /run/sshd are the node's own and the machine's
 *   /run/docker.sock (and any /run/containerd) is out of sight.
 * - dockerd listens on /run/docker.sock inside the node (what `docker` and Ansible's community.docker modules use
 *   in an SSH session) and on <node dir>/docker.sock, which the root namespace reaches (`cluster.docker`).
 * - The node's sshd is started inside the same mount, network and UTS namespaces (`nsenter -t <dockerd pid>
 *   -m -n -u`), with its own host keys, root login by the harness's key only.
 * - Every process of a node (the daemon, containerd, the shims, sshd and its sessions: the freezer cgroup
 *   /pie-cluster-nodeN/daemon; the containers: dockerd's --cgroup-parent /pie-cluster-nodeN) is in one freezer
 *   cgroup, so `kill` can stop the node at one instant, as when a Pi loses power: freeze, SIGKILL, thaw. Killing
 *   only the daemon would leave its containers answering.
 * - Upstream images a Pi pulls (etcd, registry:2) cannot be pulled here: they are saved once from the machine's
 *   daemon (stand-ins where needed) and loaded into every node, and that is said loudly. The node daemons run
 *   without DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: with it, swarm tasks never pull, not even the stage's image from
 *   the cluster's registry; without it, a task's pull from upstream fails at once and the loaded image is used.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { waitFor } from '../lib/wait.ts';
import { firstLine, outputDir, type RunResult, run, which } from '../containers/docker.ts';
import { ensureImages } from '../containers/standins.ts';

type Log = (line: string) => void;

/** Names and addresses the harness owns; nothing else on the machine is touched. */
export const clusterNames = {
  prefix: 'pie-cluster',
  lan: 'pie-cluster-lan',
  gateway: 'pie-gw',
  subnet: '10.77.0.0/24',
  gatewayAddress: '10.77.0.1',
  baseDir: '/var/lib/pie-cluster',
} as const;

/** The upstream images every node has, as a Pi would pull them. The stage's image is not among them. */
export const upstreamImages = ['quay.io/coreos/etcd:v3.5.21', 'registry:2'];

const freezerRoot = '/sys/fs/cgroup/freezer';
const cgroupRoot = '/sys/fs/cgroup';
const sbin = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ClusterNode {
  /** node1, node2, …: also its hostname and its Ansible host name */
  name: string;
  /** 1-based */
  index: number;
  address: string;
  role: 'manager' | 'worker';
  /** network namespace (/run/netns/<netns>) */
  netns: string;
  /** the node's daemon socket as the root namespace sees it */
  socket: string;
  /** per-node directory: data root, /etc/docker, ssh config, pid file */
  dir: string;
  /** cgroup (freezer) holding every process of the node */
  cgroup: string;
  dockerdPid?: number;
  sshdPid?: number;
  alive: boolean;
}

export interface KillReport {
  node: string;
  /** processes killed (daemon, containerd, shims, containers, sshd) */
  processes: number;
  ms: number;
}

export interface Cluster {
  nodes: ClusterNode[];
  managers: ClusterNode[];
  workers: ClusterNode[];
  /** Ansible inventory of the nodes, in the shape of deployment/inventory/pi.example.yml */
  inventoryFile: string;
  /** the private key Ansible and `ssh` log in with (root on every node) */
  keyFile: string;
  /** seconds each start phase took: network, daemons, sshd, images */
  phases: Record<string, number>;
  /** the images pre-loaded into every node */
  images: string[];
  node(name: string | number): ClusterNode;
  /** the docker CLI against one node's daemon */
  docker(node: ClusterNode | string, args: string[], timeoutMs?: number): Promise<RunResult>;
  /** one command over SSH on a node, as Ansible logs in */
  ssh(node: ClusterNode | string, command: string, timeoutMs?: number): Promise<RunResult>;
  /** the arguments `ssh` needs to log in to a node (for the caller's own commands) */
  sshArgs(node: ClusterNode | string): string[];
  /** a dead Pi: every process of the node at once (daemon, containers, shims, sshd), and its cable pulled */
  kill(node: ClusterNode | string): Promise<KillReport>;
  /** tears everything down; idempotent, synchronous (also runs on exit and on SIGINT/SIGTERM/SIGHUP) */
  stop(): void;
}

export interface ClusterOptions {
  nodes?: number;
  /** how many of the nodes are managers (the first ones): default min(3, nodes) */
  managers?: number;
  log?: Log;
  /** images saved from the machine's daemon into every node (default: upstreamImages) */
  images?: string[];
  /**
   * Directories each node has its own (empty) copy of, as each Pi has its own disk: default /opt, where a play
   * keeps node-side files (deployment/group_vars/all.yml pie_home). Everything else outside /etc/docker, /run,
   * /etc/hosts and /etc/resolv.conf is this machine's, shared by the nodes: a play must not install or change it.
   */
  privateDirs?: string[];
  /**
   * Start the node daemons with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 (default: no). With it a swarm task never
   * pulls, not even from the cluster's own registry: the nodes that did not push the stage's image fail its
   * tasks with "No such image". Without it a task's pull of an upstream image fails at once (the node resolves
   * nothing) and the pre-loaded image is used.
   */
  preferOfflineImage?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Small synchronous helpers (teardown must work inside an exit handler, where nothing asynchronous runs).

interface SyncResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], timeoutMs = 30_000): SyncResult {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PATH: sbin },
  });
  return {
    code: result.status ?? 1,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? (result.error?.message || ''),
  };
}

function must(cmd: string, args: string[]): string {
  const result = sh(cmd, args);
  if (result.code !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  return result.stdout;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function netnsNames(): string[] {
  return sh('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.trim().split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function linkExists(name: string): boolean {
  return sh('ip', ['link', 'show', name]).code === 0;
}

/** Every pid in a cgroup directory and below. */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    try {
      for (const line of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n'))
        if (line.trim() !== '') pids.push(Number(line));
    } catch {
      // gone meanwhile
    }
    for (const entry of entries) {
      const sub = path.join(d, entry);
      try {
        if (statSync(sub).isDirectory()) walk(sub);
      } catch {
        // gone meanwhile
      }
    }
  };
  walk(dir);
  return [...new Set(pids)].filter((p) => p !== process.pid);
}

/** Removes a cgroup directory and its children, deepest first (cgroup directories hold no files to delete). */
function removeCgroup(dir: string): boolean {
  if (!existsSync(dir)) return true;
  for (const entry of readdirSync(dir)) {
    const sub = path.join(dir, entry);
    try {
      if (statSync(sub).isDirectory()) removeCgroup(sub);
    } catch {
      // gone meanwhile
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      sleepSync(100); // a process that was just killed may still be leaving it
    }
  }
  return false;
}

/** The cgroup directories of one node in every v1 hierarchy (docker makes them for its containers). */
function nodeCgroupDirs(cgroupName: string): string[] {
  const dirs: string[] = [];
  for (const hierarchy of readdirSync(cgroupRoot)) {
    const dir = path.join(cgroupRoot, hierarchy, cgroupName);
    if (existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

function writeFreezer(cgroupName: string, state: 'FROZEN' | 'THAWED'): void {
  try {
    writeFileSync(path.join(freezerRoot, cgroupName, 'freezer.state'), state);
  } catch {
    // no such cgroup (the node is gone already)
  }
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops every process of a node at one instant: freeze its cgroup, SIGKILL everything in it (and anything still in
 * its network namespace), thaw so the signals land. Synchronous; returns how many processes it killed.
 */
function killNodeSync(cgroupName: string, netns: string): number {
  const killed = new Set<number>();
  for (let round = 0; round < 50; round++) {
    writeFreezer(cgroupName, 'FROZEN');
    const inNetns = netnsNames().includes(netns)
      ? sh('ip', ['netns', 'pids', netns])
          .stdout.split('\n')
          .filter((l) => l.trim() !== '')
          .map(Number)
      : [];
    const pids = [...new Set([...cgroupPids(path.join(freezerRoot, cgroupName)), ...inNetns])].filter(
      (p) => p !== process.pid && p > 1,
    );
    for (const pid of pids) if (signal(pid, 'SIGKILL')) killed.add(pid);
    writeFreezer(cgroupName, 'THAWED');
    if (pids.length === 0) break;
    sleepSync(100);
  }
  return killed.size;
}

/** `ip netns add` made /run/netns (a mount point) where there was none: remove it again once it is empty. */
function removeNetnsDir(): string | undefined {
  if (!existsSync('/run/netns') || readdirSync('/run/netns').length > 0) return undefined;
  if (mountsUnder('/run/netns').length > 0) sh('umount', ['/run/netns']);
  try {
    rmdirSync('/run/netns');
    return undefined;
  } catch (error) {
    return `rmdir /run/netns: ${(error as Error).message}`;
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

// ---------------------------------------------------------------------------------------------------------------

/** Why a cluster cannot be started here, or [] when it can. */
export function clusterPrerequisites(): string[] {
  const reasons: string[] = [];
  if (process.platform !== 'linux') reasons.push('simulated Pis need Linux (network namespaces, cgroups)');
  if (process.getuid?.() !== 0) reasons.push('simulated Pis need root (network namespaces, mounts, cgroups)');
  const needs: [string, string][] = [
    ['ip', 'iproute2'],
    ['unshare', 'util-linux'],
    ['nsenter', 'util-linux'],
    ['mount', 'mount'],
    ['hostname', 'hostname'],
    ['dockerd', 'docker.io'],
    ['docker', 'docker.io'],
    ['sshd', 'openssh-server'],
    ['ssh', 'openssh-client'],
    ['ssh-keygen', 'openssh-client'],
  ];
  for (const [program, pkg] of needs)
    if (which(program, sbin) === undefined)
      reasons.push(`${program} is not installed (Debian: apt-get install ${pkg})`);
  if (
    !existsSync(path.join(freezerRoot, 'freezer.state')) &&
    !existsSync(path.join(freezerRoot, 'cgroup.procs'))
  )
    reasons.push(`no cgroup v1 freezer hierarchy at ${freezerRoot} (the harness stops a node through it)`);
  if (!existsSync('/etc/docker'))
    reasons.push('/etc/docker does not exist (the node daemons mount their own over it)');
  return reasons;
}

/**
 * Removes what a cluster of this harness left on the machine (a run killed before its exit handler could run).
 * Touches only names with the harness's prefix, `pie-gw` and the harness's base directory.
 */
export function clearLeftovers(log: Log = console.log, onlyRun?: string): string[] {
  const cleared: string[] = [];
  const runFile = path.join(clusterNames.baseDir, 'run-id');
  if (onlyRun !== undefined && (!existsSync(runFile) || readFileSync(runFile, 'utf8').trim() !== onlyRun))
    return cleared; // that run was stopped already, or another one runs now
  const netnsDirCreated = existsSync(path.join(clusterNames.baseDir, 'netns-dir-created'));
  const namespaces = netnsNames().filter((n) => n.startsWith(`${clusterNames.prefix}-`));
  const cgroupNames = new Set<string>();
  for (const hierarchy of existsSync(cgroupRoot) ? readdirSync(cgroupRoot) : []) {
    const dir = path.join(cgroupRoot, hierarchy);
    try {
      for (const entry of readdirSync(dir))
        if (entry.startsWith(`${clusterNames.prefix}-node`)) cgroupNames.add(entry);
    } catch {
      // not a directory
    }
  }
  for (const name of new Set([...cgroupNames, ...namespaces.filter((n) => n !== clusterNames.lan)])) {
    const killed = killNodeSync(name, name);
    if (killed > 0) cleared.push(`${killed} processes of ${name}`);
  }
  for (const name of namespaces) {
    sh('ip', ['netns', 'del', name]);
    cleared.push(`network namespace ${name}`);
  }
  if (linkExists(clusterNames.gateway)) {
    sh('ip', ['link', 'del', clusterNames.gateway]);
    cleared.push(`link ${clusterNames.gateway}`);
  }
  for (const name of cgroupNames)
    for (const dir of nodeCgroupDirs(name)) if (removeCgroup(dir)) cleared.push(`cgroup ${dir}`);
  if (netnsDirCreated) removeNetnsDir();
  if (existsSync(clusterNames.baseDir)) {
    const mounts = mountsUnder(clusterNames.baseDir);
    for (const m of mounts.reverse()) sh('umount', ['-l', m]);
    if (mountsUnder(clusterNames.baseDir).length === 0) {
      rmSync(clusterNames.baseDir, { recursive: true, force: true });
      cleared.push(clusterNames.baseDir);
    } else {
      log(
        `cluster: NOT removing ${clusterNames.baseDir}: still mounted below it: ${mountsUnder(clusterNames.baseDir).join(', ')}`,
      );
    }
  }
  if (cleared.length > 0) log(`cluster: cleared leftovers of an earlier run: ${cleared.join('; ')}`);
  return cleared;
}

/** The pid of a live process whose cluster is up, if any (a run that died leaves only leftovers). */
function runningOwner(): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(clusterNames.baseDir, 'run-id'), 'utf8').split('-')[0]);
    return pid > 1 && pid !== process.pid && signal(pid, 0) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function banner(log: Log, text: string): void {
  const rule = '='.repeat(100);
  log(`\n${rule}\n${text}\n${rule}\n`);
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function imagePresent(image: string): Promise<boolean> {
  return (
    (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 30_000 })).code ===
    0
  );
}

/** Makes sure the machine's daemon has each image: present, or a stand-in built (tools/containers/standins.ts). */
async function ensureUpstreamImages(images: string[], log: Log): Promise<void> {
  const absent: string[] = [];
  for (const image of images) if (!(await imagePresent(image))) absent.push(image);
  if (absent.length === 0) return;
  // The stand-in builder works from a stage's compose file: give it one that names just these images.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pie-cluster-images-'));
  try {
    const services = Object.fromEntries(absent.map((image, i) => [`image${i}`, { image }]));
    writeFileSync(path.join(dir, 'docker-compose.yml'), stringifyYaml({ services }));
    const report = await ensureImages(dir, log);
    if (report.missing.length > 0)
      throw new Error(
        `images the nodes need are missing: ${report.missing.map((m) => `${m.image} (${m.reason})`).join('; ')}`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts `nodes` simulated Pis; see the file comment. Throws (after tearing down what it made) when one fails. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? console.log;
  const count = options.nodes ?? 3;
  const managerCount = options.managers ?? Math.min(3, count);
  const images = options.images ?? upstreamImages;
  const privateDirs = options.privateDirs ?? ['/opt'];
  for (const d of privateDirs)
    if (!path.isAbsolute(d) || !existsSync(d) || !statSync(d).isDirectory())
      throw new Error(
        `privateDirs: ${d} is not an existing directory on this machine (it is the mount point)`,
      );
  if (count < 1 || count > 200) throw new Error(`nodes must be 1..200, not ${count}`);
  const reasons = clusterPrerequisites();
  if (reasons.length > 0) throw new Error(`cannot start simulated Pis: ${reasons.join('; ')}`);

  const owner = runningOwner();
  if (owner !== undefined)
    throw new Error(
      `simulated Pis of another run (pid ${owner}) are up: let it finish, or stop them with ` +
        '`node tools/deploy/cluster.ts stop`',
    );
  clearLeftovers(log);
  const base = clusterNames.baseDir;
  const logDir = path.join(outputDir, 'cluster');
  mkdirSync(logDir, { recursive: true });
  const netnsDirExisted = existsSync('/run/netns');
  mkdirSync(base, { recursive: true, mode: 0o755 });
  // What a later `cluster.ts stop` needs to know to clear this run (the reaper below, or a person).
  const runId = `${process.pid}-${Date.now()}`;
  writeFileSync(path.join(base, 'run-id'), runId);
  if (!netnsDirExisted) writeFileSync(path.join(base, 'netns-dir-created'), '');
  const children: ChildProcess[] = [];
  const nodes: ClusterNode[] = Array.from({ length: count }, (_, i) => {
    const index = i + 1;
    const name = `node${index}`;
    const dir = path.join(base, name);
    return {
      name,
      index,
      address: `10.77.0.${10 + index}`,
      role: index <= managerCount ? 'manager' : 'worker',
      netns: `${clusterNames.prefix}-${name}`,
      socket: path.join(dir, 'docker.sock'),
      dir,
      cgroup: `${clusterNames.prefix}-${name}`,
      alive: false,
    };
  });

  let stopped = false;
  const onSignal = (sig: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, sig); // the default action, now that our handler is gone
  };
  const onExit = () => stop();
  function stop(): void {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(sig, onSignal);
    if (reaper?.pid !== undefined) signal(reaper.pid, 'SIGKILL');
    const started = Date.now();
    const problems: string[] = [];
    let killed = 0;
    for (const node of nodes) {
      killed += killNodeSync(node.cgroup, node.netns);
      node.alive = false;
    }
    for (const child of children) child.unref();
    const namespaces = netnsNames();
    for (const ns of [...nodes.map((n) => n.netns), clusterNames.lan])
      if (namespaces.includes(ns)) {
        const del = sh('ip', ['netns', 'del', ns]);
        if (del.code !== 0) problems.push(`ip netns del ${ns}: ${del.stderr.trim()}`);
      }
    if (linkExists(clusterNames.gateway)) sh('ip', ['link', 'del', clusterNames.gateway]);
    if (!netnsDirExisted) {
      const problem = removeNetnsDir();
      if (problem !== undefined) problems.push(problem);
    }
    for (const node of nodes)
      for (const dir of nodeCgroupDirs(node.cgroup))
        if (!removeCgroup(dir)) problems.push(`cgroup ${dir} still has processes`);
    if (existsSync(base)) {
      const mounts = mountsUnder(base);
      if (mounts.length > 0) problems.push(`not removing ${base}: mounted below it: ${mounts.join(', ')}`);
      else rmSync(base, { recursive: true, force: true });
    }
    log(
      `cluster: stopped ${count} nodes in ${seconds(Date.now() - started)} s (${killed} processes ended by pid; ` +
        `namespaces, veths, ${clusterNames.gateway}, cgroups and ${base} removed)` +
        (problems.length > 0 ? `; PROBLEMS: ${problems.join('; ')}` : ''),
    );
  }
  process.on('exit', onExit);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  // A process killed outright (SIGKILL: a test runner ending its worker) runs no handler: a reaper waits for this
  // process to end and clears this run's cluster then (only this run's: it names the run id).
  const reaper: ChildProcess | undefined = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" "$3" stop --run "$4"',
      'pie-cluster-reaper',
      String(process.pid),
      process.execPath,
      fileURLToPath(import.meta.url),
      runId,
    ],
    { detached: true, stdio: ['ignore', openSync(path.join(logDir, 'reaper.log'), 'w'), 'ignore'] },
  );
  reaper.unref();

  const phases: Record<string, number> = {};
  const phase = async (name: string, work: () => Promise<void>) => {
    const started = Date.now();
    await work();
    phases[name] = seconds(Date.now() - started);
    log(`cluster: ${name} ready in ${phases[name]} s`);
  };
  const keyFile = path.join(base, 'ssh', 'id_ed25519');
  const inventoryFile = path.join(base, 'inventory.yml');

  try {
    // -- network: the LAN namespace with its bridge, a veth per node, pie-gw into the root namespace
    await phase('network', async () => {
      const lan = clusterNames.lan;
      must('ip', ['netns', 'add', lan]);
      must('ip', ['-n', lan, 'link', 'set', 'lo', 'up']);
      must('ip', ['-n', lan, 'link', 'add', 'br0', 'type', 'bridge']);
      must('ip', ['-n', lan, 'link', 'set', 'br0', 'up']);
      must('ip', ['link', 'add', clusterNames.gateway, 'type', 'veth', 'peer', 'name', 'gw', 'netns', lan]);
      must('ip', ['-n', lan, 'link', 'set', 'gw', 'master', 'br0', 'up']);
      must('ip', ['addr', 'add', `${clusterNames.gatewayAddress}/24`, 'dev', clusterNames.gateway]);
      must('ip', ['link', 'set', clusterNames.gateway, 'up']);
      for (const node of nodes) {
        must('ip', ['netns', 'add', node.netns]);
        const port = `n${node.index}`;
        must('ip', [
          '-n',
          lan,
          'link',
          'add',
          port,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          node.netns,
        ]);
        must('ip', ['-n', lan, 'link', 'set', port, 'master', 'br0', 'up']);
        must('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
        must('ip', ['-n', node.netns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
        must('ip', ['-n', node.netns, 'link', 'set', 'eth0', 'up']);
      }
    });

    // -- daemons: one dockerd per node in its own mount + UTS namespace, in the node's network namespace
    await phase('daemons', async () => {
      const dockerd = which('dockerd', sbin) ?? '/usr/sbin/dockerd';
      await Promise.all(
        nodes.map(async (node) => {
          for (const d of privateDirs)
            mkdirSync(path.join(node.dir, 'private', d), { recursive: true, mode: 0o755 });
          for (const sub of ['etc-docker', 'docker', 'ssh'])
            mkdirSync(path.join(node.dir, sub), { recursive: true, mode: 0o755 });
          writeFileSync(
            path.join(node.dir, 'resolv.conf'),
            `# ${node.name} resolves nothing: no lookup leaves the cluster\nnameserver ${node.address}\n`,
          );
          writeFileSync(path.join(node.dir, 'hosts'), `127.0.0.1 localhost\n${node.address} ${node.name}\n`);
          const cgroupDir = path.join(freezerRoot, node.cgroup, 'daemon');
          mkdirSync(cgroupDir, { recursive: true });
          const args = [
            `--data-root=${path.join(node.dir, 'docker')}`,
            '--exec-root=/run/docker',
            `--pidfile=${path.join(node.dir, 'dockerd.pid')}`,
            '-H',
            'unix:///run/docker.sock',
            '-H',
            `unix://${node.socket}`,
            `--cgroup-parent=/${node.cgroup}`,
            '--storage-driver=vfs',
          ];
          const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
          const script = [
            'set -e',
            `echo $$ > ${q(path.join(cgroupDir, 'cgroup.procs'))}`,
            `hostname ${node.name}`,
            `mount -t tmpfs -o mode=0755,size=64m ${node.netns}-run /run`,
            `mount --bind ${q(path.join(node.dir, 'etc-docker'))} /etc/docker`,
            `mount --bind ${q(path.join(node.dir, 'resolv.conf'))} /etc/resolv.conf`,
            `mount --bind ${q(path.join(node.dir, 'hosts'))} /etc/hosts`,
            ...privateDirs.map((d) => `mount --bind ${q(path.join(node.dir, 'private', d))} ${q(d)}`),
            `exec ${q(dockerd)} ${args.map(q).join(' ')}`,
          ].join('\n');
          const out = openSync(path.join(logDir, `${node.name}-dockerd.log`), 'w');
          const child = spawn(
            'unshare',
            [
              '-m',
              '-u',
              '--propagation',
              'slave',
              '--',
              'nsenter',
              `--net=/run/netns/${node.netns}`,
              '--',
              'sh',
              '-c',
              script,
            ],
            {
              detached: true,
              stdio: ['ignore', out, out],
              env: {
                PATH: sbin,
                HOME: '/root',
                ...(options.preferOfflineImage === true ? { DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' } : {}),
              },
            },
          );
          child.unref();
          children.push(child);
          node.dockerdPid = child.pid;
          let exited: string | undefined;
          child.once('exit', (code, sig) => {
            exited = `exited (${sig ?? code})`;
            node.alive = false;
          });
          await waitFor(
            `dockerd of ${node.name}`,
            async () => {
              if (exited !== undefined) {
                const tail = readFileSync(path.join(logDir, `${node.name}-dockerd.log`), 'utf8')
                  .trim()
                  .split('\n')
                  .slice(-3)
                  .join(' | ');
                throw new Error(`dockerd of ${node.name} ${exited}: ${tail}`);
              }
              const info = await run(
                'docker',
                ['-H', `unix://${node.socket}`, 'info', '--format', '{{.Name}}'],
                {
                  timeoutMs: 5_000,
                },
              );
              return info.code === 0 && info.stdout.trim() === node.name ? true : undefined;
            },
            60_000,
            200,
          ).catch((error: Error) => {
            throw new Error(`${error.message} (log: ${path.join(logDir, `${node.name}-dockerd.log`)})`);
          });
          node.alive = true;
        }),
      );
      const ids = await Promise.all(
        nodes.map(async (n) =>
          (await run('docker', ['-H', `unix://${n.socket}`, 'info', '--format', '{{.ID}}'])).stdout.trim(),
        ),
      );
      if (new Set(ids).size !== ids.length)
        throw new Error(`node daemons share an engine ID: ${ids.join(', ')}`);
    });

    // -- sshd: the harness's key, a host key per node, started inside the node's namespaces
    await phase('sshd', async () => {
      mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
      must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pie-cluster', '-f', keyFile]);
      const authorizedKeys = path.join(path.dirname(keyFile), 'authorized_keys');
      writeFileSync(authorizedKeys, readFileSync(`${keyFile}.pub`), { mode: 0o600 });
      const sshd = which('sshd', sbin) ?? '/usr/sbin/sshd';
      const sftp = [
        '/usr/lib/openssh/sftp-server',
        '/usr/libexec/openssh/sftp-server',
        '/usr/libexec/sftp-server',
      ].find((p) => existsSync(p));
      await Promise.all(
        nodes.map(async (node) => {
          const hostKey = path.join(node.dir, 'ssh', 'ssh_host_ed25519_key');
          must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${node.name}`, '-f', hostKey]);
          const config = path.join(node.dir, 'ssh', 'sshd_config');
          writeFileSync(
            config,
            [
              `# sshd of simulated Pi ${node.name}`,
              `ListenAddress ${node.address}`,
              'Port 22',
              `HostKey ${hostKey}`,
              'PidFile none',
              'PermitRootLogin prohibit-password',
              'PubkeyAuthentication yes',
              `AuthorizedKeysFile ${authorizedKeys}`,
              'PasswordAuthentication no',
              'KbdInteractiveAuthentication no',
              'UsePAM no',
              'X11Forwarding no',
              'PrintMotd no',
              'MaxStartups 50:30:100',
              'MaxSessions 50',
              ...(sftp === undefined ? [] : [`Subsystem sftp ${sftp}`]),
              '',
            ].join('\n'),
          );
          const cgroupProcs = path.join(freezerRoot, node.cgroup, 'daemon', 'cgroup.procs');
          const out = openSync(path.join(logDir, `${node.name}-sshd.log`), 'w');
          const inner = `mkdir -p -m 0755 /run/sshd && exec ${sshd} -D -e -f ${config}`;
          const child = spawn(
            'sh',
            [
              '-c',
              `echo $$ > ${cgroupProcs} && exec nsenter -t ${node.dockerdPid} -m -n -u -- sh -c '${inner}'`,
            ],
            { detached: true, stdio: ['ignore', out, out], env: { PATH: sbin, HOME: '/root' } },
          );
          child.unref();
          children.push(child);
          node.sshdPid = child.pid;
        }),
      );
      await Promise.all(
        nodes.map((node) =>
          waitFor(
            `sshd of ${node.name}`,
            async () => {
              const r = await sshRun(node, 'hostname', 10_000);
              return r.code === 0 && r.stdout.trim() === node.name ? true : undefined;
            },
            30_000,
            200,
          ),
        ),
      );
    });

    // -- images: the upstream images a Pi pulls, saved once from the machine's daemon, loaded into every node
    await phase('images', async () => {
      if (images.length === 0) return;
      await ensureUpstreamImages(images, log);
      const tar = path.join(base, 'upstream-images.tar');
      const save = await run('docker', ['save', '-o', tar, ...images], { timeoutMs: 300_000 });
      if (save.code !== 0) throw new Error(`docker save ${images.join(' ')}: ${firstLine(save)}`);
      await Promise.all(
        nodes.map(async (node) => {
          const load = await run('docker', ['-H', `unix://${node.socket}`, 'load', '-i', tar], {
            timeoutMs: 300_000,
          });
          if (load.code !== 0) throw new Error(`docker load into ${node.name}: ${firstLine(load)}`);
        }),
      );
      rmSync(tar, { force: true });
    });
    banner(
      log,
      `PRE-LOADED IMAGES: ${images.join(', ')} were loaded into every node's daemon from this machine's daemon\n` +
        '(stand-ins where the upstream image cannot be pulled), because the simulated Pis cannot reach Docker Hub or quay.io.\n' +
        'A real Pi pulls them from upstream. The stage image is NOT pre-loaded: the play pushes it into the cluster registry.',
    );

    writeFileSync(inventoryFile, inventoryYaml(nodes, keyFile));
    log(
      `cluster: ${count} simulated Pis up (${nodes.map((n) => `${n.name} ${n.address} ${n.role}`).join(', ')}); ` +
        `phases: ${Object.entries(phases)
          .map(([k, v]) => `${k} ${v} s`)
          .join(', ')}; inventory ${inventoryFile}`,
    );
  } catch (error) {
    stop();
    throw error;
  }

  const find = (n: ClusterNode | string | number): ClusterNode => {
    if (typeof n === 'object') return n;
    const node = typeof n === 'number' ? nodes[n - 1] : nodes.find((x) => x.name === n || x.address === n);
    if (node === undefined) throw new Error(`no node ${n}`);
    return node;
  };
  function sshArgs(node: ClusterNode): string[] {
    return [
      '-i',
      keyFile,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=5',
      `root@${node.address}`,
    ];
  }
  function sshRun(node: ClusterNode, command: string, timeoutMs = 60_000): Promise<RunResult> {
    return run('ssh', [...sshArgs(node), command], { timeoutMs });
  }

  return {
    nodes,
    managers: nodes.filter((n) => n.role === 'manager'),
    workers: nodes.filter((n) => n.role === 'worker'),
    inventoryFile,
    keyFile,
    phases,
    images,
    node: find,
    docker: (node, args, timeoutMs = 120_000) =>
      run('docker', ['-H', `unix://${find(node).socket}`, ...args], { timeoutMs }),
    ssh: (node, command, timeoutMs) => sshRun(find(node), command, timeoutMs),
    sshArgs: (node) => sshArgs(find(node)),
    async kill(n) {
      const node = find(n);
      const started = Date.now();
      // Pull the cable first, so no last packet leaves after the power is gone, then stop every process.
      sh('ip', ['-n', clusterNames.lan, 'link', 'set', `n${node.index}`, 'down']);
      const processes = killNodeSync(node.cgroup, node.netns);
      node.alive = false;
      const ms = Date.now() - started;
      log(`cluster: ${node.name} killed (${processes} processes, link down) in ${ms} ms`);
      await sleep(0);
      return { node: node.name, processes, ms };
    },
    stop,
  };
}

/** The inventory of the nodes, in the shape of deployment/inventory/pi.example.yml. */
export function inventoryYaml(nodes: ClusterNode[], keyFile: string): string {
  const hosts = (role: ClusterNode['role']) =>
    Object.fromEntries(
      nodes.filter((n) => n.role === role).map((n) => [n.name, { ansible_host: n.address }]),
    );
  const inventory = {
    all: {
      vars: {
        ansible_user: 'root',
        ansible_ssh_private_key_file: keyFile,
        ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
        ansible_python_interpreter: '/usr/bin/python3',
      },
      children: {
        managers: { hosts: hosts('manager') },
        workers: { hosts: hosts('worker') },
      },
    },
  };
  return (
    '# Simulated Pis on this machine (tools/deploy/cluster.ts): one network namespace, dockerd and sshd per node.\n' +
    '# Written for one run and removed with the cluster.\n' +
    stringifyYaml(inventory)
  );
}

// `node tools/deploy/cluster.ts stop`: clear what a killed run left behind.
// `node tools/deploy/cluster.ts start [N]`: start N nodes, print how to reach them, stop on Ctrl-C.
if (import.meta.main) {
  const [command, arg] = process.argv.slice(2);
  if (command === 'stop') {
    const cleared = clearLeftovers(console.log, arg === '--run' ? process.argv[4] : undefined);
    if (cleared.length === 0) console.log('cluster: nothing left behind');
  } else if (command === 'start') {
    const cluster = await startCluster({ nodes: Number(arg ?? 3) });
    console.log(
      `inventory: ${cluster.inventoryFile}\nssh: ssh ${cluster.sshArgs(cluster.nodes[0] as ClusterNode).join(' ')}\n` +
        'Ctrl-C stops the cluster.',
    );
    setInterval(() => undefined, 1 << 30);
  } else {
    console.error('usage: node tools/deploy/cluster.ts start [nodes] | stop [--run <run id>]');
    process.exitCode = 2;
  }
}
