/**
 * `npm run stack`: the Docker Swarm stack file of every stage, deployment/stacks/demoNN.yml, derived from the
 * stage's demoNN/docker-compose.yml (the single source of truth, DESIGN.md §6). `npm run stack -- --check` changes
 * nothing and exits 1 naming every stack file that is stale, missing or left over.
 *
 * What the derivation does (`deriveStack`, a pure function of the parsed compose file):
 * - drops what `docker stack deploy` rejects or ignores: `build`, `container_name`, `depends_on` (Swarm has no start
 *   order), and turns `restart` into `deploy.restart_policy`;
 * - the image of every service built from the stage becomes `${PIE_REGISTRY}/<image>:${PIE_IMAGE_TAG}`: the image
 *   the play pushed to the cluster's registry;
 * - removes the stage's own `etcd` service: the cluster runs its own (the stack `pie-etcd`), at
 *   `${PIE_ETCD_ENDPOINTS}`; `ADVERTISE_HOST: auto` becomes `auto:<the overlay network's subnet>`, since a swarm
 *   task also has an address on docker_gwbridge;
 * - every service joins only the external overlay network `pie`, with `endpoint_mode: dnsrr` (the services balance
 *   their calls themselves); published ports become host-mode ports of the front node, one replica each;
 * - a read-only bind mount of the stage's files (`./infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro`, a
 *   folder too) becomes Swarm configs, one per file, read from the same path relative to the stack file (the play
 *   copies the stage's files beside it). A config cannot change, so its name carries a hash of its content;
 * - the gateway's signing key, which compose makes once into a volume (`gateway-signing-key`, written by a
 *   one-shot service and mounted read-only by every gateway), is the cluster's Swarm secret instead: the play makes
 *   it, so the service that writes the volume and the volume itself have no place on the swarm. The gateway runs
 *   on every node (`mode: global`, its host-mode port on each): every Pi is an entry point, all with one key.
 * Anything else in the compose file that this file does not know is an error, not silently carried or dropped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { existingStages } from '../stage/stages.ts';

export interface StackOptions {
  /** The compose file, as the header of the stack file names it (`demo03/docker-compose.yml`). */
  source: string;
  /** The external overlay network every service joins; `pie`. */
  network?: string;
  /** That network's subnet, for `ADVERTISE_HOST: auto:<subnet>`; `10.20.0.0/16`. */
  subnet?: string;
  /** The stage's own registry service, replaced by the cluster's etcd; `etcd`. */
  etcdService?: string;
  /** The node label constraint of the front node, where the published ports are. */
  frontConstraint?: string;
  /** The folder of the compose file, where its bind mounts' files are; the stage's folder by default. */
  composeDir?: string;
  /** Where the stack file is written, for the configs' paths relative to it; deployment/stacks by default. */
  stackDir?: string;
}

const defaults = {
  network: 'pie',
  subnet: '10.20.0.0/16',
  etcdService: 'etcd',
  frontConstraint: 'node.labels.pie.front == true',
} satisfies Omit<Required<StackOptions>, 'source' | 'composeDir' | 'stackDir'>;

type Options = typeof defaults & StackOptions & { composeDir: string; stackDir: string };

function resolved(options: StackOptions): Options {
  return {
    ...defaults,
    composeDir: join(root, dirname(options.source)),
    stackDir: join(root, 'deployment/stacks'),
    ...options,
  };
}

/**
 * Compose file format 3.8: `docker stack deploy` of Docker 20.10 (Debian's docker.io, on the Pis) refuses a file
 * without `version` ("unsupported Compose file version: 1.0"), and knows formats up to 3.9; newer CLIs accept 3.8.
 * 3.8 has everything used here (init 3.7, healthcheck start_period 3.4, update_config.order 3.4, long port syntax
 * and endpoint_mode 3.2).
 */
export const STACK_VERSION = '3.8';

/** Registry, tag and etcd endpoints: set in the environment of `docker stack deploy` (deployment/pi.yml does). */
export const STACK_VARIABLES = ['PIE_REGISTRY', 'PIE_IMAGE_TAG', 'PIE_ETCD_ENDPOINTS'] as const;

type Obj = Record<string, unknown>;

export interface StackPort {
  target: number;
  published: number;
  protocol: 'tcp' | 'udp';
  mode: 'host';
}

export interface StackService {
  image: string;
  command?: unknown;
  entrypoint?: unknown;
  init?: boolean;
  user?: string;
  working_dir?: string;
  environment?: Record<string, string | null>;
  healthcheck?: Obj;
  stop_grace_period?: string;
  stop_signal?: string;
  ports?: StackPort[];
  networks: string[];
  configs?: StackConfigUse[];
  secrets?: { source: string; target: string }[];
  deploy: {
    endpoint_mode: 'dnsrr';
    /** `global`: one task on every node (the gateway); otherwise `replicas` of it. */
    mode?: 'global';
    replicas?: number;
    placement?: { constraints: string[] };
    restart_policy?: { condition: 'any' | 'on-failure' | 'none'; max_attempts?: number };
    update_config: { parallelism: number; order: 'stop-first' };
    resources?: Obj;
    labels?: unknown;
  };
}

/** A config mounted into a service's containers, read-only. */
export interface StackConfigUse {
  source: string;
  target: string;
  mode: number;
}

export interface Stack {
  version: string;
  services: Record<string, StackService>;
  networks: Record<string, { external: true }>;
  configs?: Record<string, { file: string }>;
  secrets?: Record<string, { external: true }>;
}

/**
 * The gateway's signing key on the cluster: a Swarm secret the play makes once (every gateway task shares it,
 * and a redeploy keeps the tokens valid), mounted where GATEWAY_SIGNING_KEY_FILE says.
 */
export const SIGNING_KEY_SECRET = 'pie-gateway-signing-key';
const signingKeyTarget = 'gateway-signing-key';
/** The compose volume that holds the key for compose's gateways (the secret's stand-in there). */
const SIGNING_KEY_VOLUME = 'gateway-signing-key';

/** A service's mounts of the signing key's volume (`gateway-signing-key:/run/secrets:ro`), and the others. */
function keyMounts(volumes: unknown): { key: string[]; other: unknown[] } {
  const list = Array.isArray(volumes) ? (volumes as unknown[]) : [];
  const isKey = (v: unknown) => typeof v === 'string' && v.startsWith(`${SIGNING_KEY_VOLUME}:`);
  return { key: list.filter(isKey) as string[], other: list.filter((v) => !isKey(v)) };
}

export class StackError extends Error {}

/** Service keys carried as they are. */
const CARRIED = [
  'command',
  'entrypoint',
  'init',
  'user',
  'working_dir',
  'healthcheck',
  'stop_grace_period',
  'stop_signal',
] as const;
/** Service keys dropped: Swarm ignores or rejects them, or the stack sets its own (networks). */
const DROPPED = new Set(['build', 'container_name', 'depends_on', 'networks']);
/** Service keys translated below. */
const TRANSLATED = new Set(['image', 'environment', 'restart', 'ports', 'deploy', 'volumes']);
/** Keys of a service's `deploy` carried as they are; the stack sets the rest. */
const DEPLOY_CARRIED = ['resources', 'labels'] as const;

const isMapping = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `restart:` of compose as a Swarm restart policy. */
export function restartPolicy(restart: unknown, where = 'restart'): StackService['deploy']['restart_policy'] {
  // `restart: no` unquoted is the boolean false to a YAML 1.1 reader.
  if (restart === false || restart === 'no') return { condition: 'none' };
  if (restart === 'always' || restart === 'unless-stopped') return { condition: 'any' };
  if (restart === 'on-failure') return { condition: 'on-failure' };
  const attempts = typeof restart === 'string' ? /^on-failure:(\d+)$/.exec(restart)?.[1] : undefined;
  if (attempts !== undefined) return { condition: 'on-failure', max_attempts: Number(attempts) };
  throw new StackError(`${where}: ${JSON.stringify(restart)} is not a compose restart policy`);
}

/** `environment:` as a map of strings (a list `A=b` too); `A:` with no value stays null (taken from the shell). */
export function environmentMap(environment: unknown, where = 'environment'): Record<string, string | null> {
  const map: Record<string, string | null> = {};
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const text = String(entry);
      const eq = text.indexOf('=');
      if (eq < 0) map[text] = null;
      else map[text.slice(0, eq)] = text.slice(eq + 1);
    }
    return map;
  }
  if (!isMapping(environment)) throw new StackError(`${where} must be a map or a list`);
  for (const [name, value] of Object.entries(environment)) {
    if (value === null || value === undefined) map[name] = null;
    else if (typeof value === 'object') throw new StackError(`${where}.${name} must be a scalar`);
    else map[name] = String(value);
  }
  return map;
}

/** A published port of compose (`"8081:8081"`, `"8081:8081/udp"`, long syntax) as a host-mode port. */
export function hostPort(port: unknown, where = 'ports'): StackPort {
  const explain = (why: string) =>
    new StackError(`${where}: ${JSON.stringify(port)} ${why}; the stack publishes host-mode ports only`);
  let published: unknown;
  let target: unknown;
  let protocol: unknown;
  if (isMapping(port)) {
    if (port.host_ip !== undefined) throw explain('binds a host address, which Swarm cannot');
    ({ published, target } = port);
    protocol = port.protocol ?? 'tcp';
  } else if (typeof port === 'string' || typeof port === 'number') {
    const match = /^(?:(.+):)?(\d+):(\d+)(?:\/(\w+))?$/.exec(String(port));
    if (match === null) throw explain('is not "published:target" (a lone port is published on a random one)');
    if (match[1] !== undefined) throw explain('binds a host address, which Swarm cannot');
    [, , published, target] = match;
    protocol = match[4] ?? 'tcp';
  } else {
    throw explain('is not a port');
  }
  const p = Number(published);
  const t = Number(target);
  if (!Number.isInteger(p) || !Number.isInteger(t) || p < 1 || t < 1 || p > 65535 || t > 65535)
    throw explain('needs a published and a target port (no ranges)');
  if (protocol !== 'tcp' && protocol !== 'udp') throw explain(`has protocol ${String(protocol)}`);
  return { target: t, published: p, protocol, mode: 'host' };
}

/** Every file under `path` (itself, when it is a file), relative to it, in order. */
function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [''];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(join(path, file)).isFile())
    .map((file) => file.split('\\').join('/'))
    .sort();
}

/**
 * The read-only bind mounts of a service as configs: one per file, named after its path and a hash of its
 * content. Anything else (a named volume, a writable mount, a path outside the stage) has no place on a swarm.
 */
function configsOf(
  volumes: unknown,
  where: string,
  o: Options,
): { uses: StackConfigUse[]; configs: Record<string, { file: string }> } {
  if (!Array.isArray(volumes)) throw new StackError(`${where} must be a list`);
  const uses: StackConfigUse[] = [];
  const configs: Record<string, { file: string }> = {};
  volumes.forEach((volume, i) => {
    // Only the stage's infra/ folder: that is what the play copies beside the stack file.
    const match = typeof volume === 'string' ? /^(\.\/infra\/[^:]+):(\/[^:]+):ro$/.exec(volume) : null;
    if (match === null)
      throw new StackError(
        `${where}[${i}]: ${JSON.stringify(volume)} is not a read-only mount of the stage's infra/ files ("./infra/path:/target:ro"), which the stack makes configs of`,
      );
    const [, from = '', to = ''] = match;
    const path = join(o.composeDir, from);
    if (!existsSync(path)) throw new StackError(`${where}[${i}]: ${from} does not exist`);
    for (const file of filesUnder(path)) {
      const content = readFileSync(join(path, file));
      const hash = createHash('sha256').update(content).digest('hex').slice(0, 10);
      const inStage = posix.join(from, file).replace(/^\.\//, '');
      // Its folder and name (a config's name, with the stack's prefix, must stay short), then the hash.
      const key = `${inStage
        .split('/')
        .slice(-2)
        .join('-')
        .replace(/[^A-Za-z0-9]+/g, '-')}-${hash}`;
      configs[key] = { file: relative(o.stackDir, join(path, file)).split('\\').join('/') };
      uses.push({ source: key, target: file === '' ? to : posix.join(to, file), mode: 0o444 });
    }
  });
  return { uses, configs };
}

function deriveService(
  name: string,
  service: Obj,
  o: Options,
  configs: Record<string, { file: string }>,
): StackService {
  const where = `services.${name}`;
  for (const key of Object.keys(service)) {
    if (!DROPPED.has(key) && !TRANSLATED.has(key) && !(CARRIED as readonly string[]).includes(key))
      throw new StackError(
        `${where}.${key}: not known to tools/deploy/stack.ts; say there whether the stack carries, drops or translates it`,
      );
  }
  if (typeof service.image !== 'string' || service.image === '')
    throw new StackError(`${where}: no image (the stack needs the name the image is pushed under)`);
  let image = service.image;
  if (service.build !== undefined) {
    if (/:[^/]*$/.test(image) || image.includes('@'))
      throw new StackError(
        `${where}.image: ${image} has a tag; the stack tags the stage's image with PIE_IMAGE_TAG`,
      );
    image = `\${PIE_REGISTRY}/${image}:\${PIE_IMAGE_TAG}`;
  }

  const out: Partial<StackService> = { image };
  for (const key of CARRIED) if (service[key] !== undefined) (out as Obj)[key] = service[key];

  let everyNode = false;
  if (service.environment !== undefined) {
    const environment = environmentMap(service.environment, `${where}.environment`);
    if ('ETCD_ENDPOINTS' in environment) environment.ETCD_ENDPOINTS = '${PIE_ETCD_ENDPOINTS}';
    if (environment.ADVERTISE_HOST === 'auto') environment.ADVERTISE_HOST = `auto:${o.subnet}`;
    if ('GATEWAY_SIGNING_KEY_FILE' in environment) {
      environment.GATEWAY_SIGNING_KEY_FILE = `/run/secrets/${signingKeyTarget}`;
      out.secrets = [{ source: SIGNING_KEY_SECRET, target: signingKeyTarget }];
      everyNode = true;
    }
    out.environment = environment;
  }

  if (!Array.isArray(service.ports ?? [])) throw new StackError(`${where}.ports must be a list`);
  const ports = ((service.ports ?? []) as unknown[]).map((port, i) => hostPort(port, `${where}.ports[${i}]`));
  if (ports.length > 0) out.ports = ports;
  out.networks = [o.network];
  // The key's volume: replaced by the secret above.
  const volumes = service.volumes === undefined ? undefined : keyMounts(service.volumes).other;
  if (volumes !== undefined && volumes.length > 0) {
    const mounted = configsOf(volumes, `${where}.volumes`, o);
    out.configs = mounted.uses;
    Object.assign(configs, mounted.configs);
  }

  const composeDeploy = service.deploy ?? {};
  if (!isMapping(composeDeploy)) throw new StackError(`${where}.deploy must be a map`);
  for (const key of Object.keys(composeDeploy)) {
    if (!(DEPLOY_CARRIED as readonly string[]).includes(key))
      throw new StackError(
        `${where}.deploy.${key}: not known to tools/deploy/stack.ts, which sets replicas, placement and policies itself`,
      );
  }
  const deploy: StackService['deploy'] = {
    endpoint_mode: 'dnsrr',
    // The gateway: one on every node, each with its host port and the shared key, so any Pi is a way in.
    // Otherwise published: one replica, on the front node (a second one there would find its host port taken).
    // Not published: one to start with; `docker service scale` adds more, and Swarm spreads them over the nodes.
    ...(everyNode
      ? { mode: 'global' as const }
      : {
          replicas: 1,
          ...(ports.length > 0 ? { placement: { constraints: [o.frontConstraint] } } : {}),
        }),
    ...(service.restart !== undefined
      ? { restart_policy: restartPolicy(service.restart, `${where}.restart`) }
      : {}),
    // A host-mode port is free only once the old task has stopped.
    update_config: { parallelism: 1, order: 'stop-first' },
  };
  for (const key of DEPLOY_CARRIED)
    if (composeDeploy[key] !== undefined) deploy[key] = composeDeploy[key] as Obj;
  out.deploy = deploy;
  return out as StackService;
}

/** The Swarm stack of a compose file (parsed, YAML merge keys resolved): see the comment at the top. */
export function deriveStack(compose: object, options: StackOptions): Stack {
  const o = resolved(options);
  const file = compose as Obj;
  for (const key of Object.keys(file)) {
    if (
      key === 'volumes' &&
      isMapping(file.volumes) &&
      Object.keys(file.volumes).join() === SIGNING_KEY_VOLUME
    )
      continue; // the key's volume, the secret on the swarm
    if (key !== 'services' && !key.startsWith('x-'))
      throw new StackError(`${options.source}: top-level ${key} is not known to tools/deploy/stack.ts`);
  }
  if (!isMapping(file.services) || Object.keys(file.services).length === 0)
    throw new StackError(`${options.source}: no services`);
  const services: Record<string, StackService> = {};
  const configs: Record<string, { file: string }> = {};
  for (const [name, service] of Object.entries(file.services)) {
    if (name === o.etcdService) continue;
    if (!isMapping(service)) throw new StackError(`services.${name} must be a map`);
    // The one that writes the key into its volume: the play makes the cluster's secret instead.
    if (keyMounts(service.volumes).key.some((mount) => !mount.endsWith(':ro'))) continue;
    services[name] = deriveService(name, service, o, configs);
  }
  if (Object.keys(services).length === 0) throw new StackError(`${options.source}: no service but etcd`);
  const usesSigningKey = Object.values(services).some((service) => service.secrets !== undefined);
  return {
    version: STACK_VERSION,
    services,
    networks: { [o.network]: { external: true } },
    ...(Object.keys(configs).length > 0 && { configs }),
    ...(usesSigningKey && { secrets: { [SIGNING_KEY_SECRET]: { external: true as const } } }),
  };
}

/** A compose file's text as Compose reads it: YAML merge keys (`<<: *service`) resolved, and no YAML errors. */
export function parseCompose(text: string, name: string): object {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new StackError(`${name}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS() as object;
}

export const readCompose = (file: string): object => parseCompose(readFileSync(file, 'utf8'), file);

/** The stack as YAML, with the comments an operator reads it by (not yet formatted: see `renderStack`). */
export function serialiseStack(stack: Stack, options: StackOptions): string {
  const o = resolved(options);
  const doc = new Document(stack);
  const stage = /^(demo\d+)\//.exec(options.source)?.[1] ?? 'the stage';
  doc.commentBefore = [
    ` GENERATED by \`npm run stack\` from ${options.source}: do not edit. Change the compose file, then run`,
    ' `npm run stack` (`npm run stack -- --check`, part of `npm test`, fails while this file is stale).',
    '',
    ` ${stage} on the Pi cluster's Docker Swarm: deployment/pi.yml deploys it as the stack \`pie\`, as in`,
    `   PIE_REGISTRY=<first manager>:5000 PIE_IMAGE_TAG=<tag> \\`,
    '   PIE_ETCD_ENDPOINTS=http://etcd-1:2379,http://etcd-2:2379,http://etcd-3:2379 \\',
    `   docker stack deploy --compose-file deployment/stacks/${stage}.yml pie`,
    '',
    ' What differs from the compose file:',
    '   - images: the stage image from the cluster registry (PIE_REGISTRY), tagged PIE_IMAGE_TAG; no build;',
    `   - no ${o.etcdService} service: the services use the cluster's etcd (stack pie-etcd) at PIE_ETCD_ENDPOINTS;`,
    `   - ADVERTISE_HOST auto:${o.subnet}: a task's address on the overlay network ${o.network}, not on`,
    '     docker_gwbridge (a task has both);',
    `   - every service on the external overlay network ${o.network} only, endpoint_mode dnsrr: a name resolves to`,
    '     every task, and the services balance their calls themselves (no virtual IP);',
    '   - published ports are host-mode ports of the front node (node label pie.front=true), one replica each;',
    ...(stack.secrets
      ? [
          "     the gateway's, with the signing key, are on every node instead (mode global): each Pi is a way in;",
        ]
      : []),
    `   - no depends_on (Swarm has no start order), no container_name; restart is deploy.restart_policy${stack.configs || stack.secrets ? ';' : '.'}`,
    ...(stack.configs
      ? [
          `   - the stage's files a service mounts are configs, one per file, named with a hash of its content${stack.secrets ? ';' : '.'}`,
        ]
      : []),
    ...(stack.secrets
      ? [
          `   - the gateway signs with the cluster's key, the secret ${SIGNING_KEY_SECRET} (compose makes one into a volume).`,
        ]
      : []),
  ].join('\n');
  const services = doc.get('services') as YAMLMap;
  for (const pair of services.items) {
    if (!isScalar(pair.key)) continue;
    const name = String(pair.key.value);
    const ports = stack.services[name]?.ports ?? [];
    pair.key.spaceBefore = true;
    const published = ports.map((p) => p.published).join(', ');
    pair.key.commentBefore =
      stack.services[name]?.deploy.mode === 'global'
        ? ` On every node, port ${published} on each: any Pi is a way in (one task per node).`
        : ports.length > 0
          ? ` Published on the front node, port ${published}: one replica.`
          : ` Not published (only the other services call it): \`docker service scale pie_${name}=3\` runs three.`;
    // Short lists on one line, as in the compose file.
    if (isMap(pair.value)) {
      for (const key of ['command', 'entrypoint', 'networks']) {
        const node = pair.value.get(key, true);
        if (isSeq(node)) node.flow = true;
      }
      const test = (pair.value.get('healthcheck', true) as YAMLMap | undefined)?.get?.('test', true);
      if (isSeq(test)) test.flow = true;
      const constraints = doc.getIn(['services', name, 'deploy', 'placement', 'constraints'], true);
      if (isSeq(constraints)) constraints.flow = true;
    }
  }
  const networks = doc.contents as YAMLMap;
  const networksKey = networks.items.find((pair) => isScalar(pair.key) && pair.key.value === 'networks')?.key;
  if (isScalar(networksKey)) {
    networksKey.spaceBefore = true;
    networksKey.commentBefore = ` The cluster's overlay network (subnet ${o.subnet}), made by deployment/pi.yml; the cluster's etcd is on it too.`;
  }
  const configsKey = networks.items.find((pair) => isScalar(pair.key) && pair.key.value === 'configs')?.key;
  if (isScalar(configsKey)) {
    configsKey.spaceBefore = true;
    configsKey.commentBefore = ` The stage's files, at the same path relative to this file: deployment/pi.yml copies them beside it.`;
  }
  const secretsKey = networks.items.find((pair) => isScalar(pair.key) && pair.key.value === 'secrets')?.key;
  if (isScalar(secretsKey)) {
    secretsKey.spaceBefore = true;
    secretsKey.commentBefore =
      " The gateway's signing key, made once by deployment/pi.yml (never in a file of the repository).";
  }
  const servicesKey = networks.items.find((pair) => isScalar(pair.key) && pair.key.value === 'services')?.key;
  if (isScalar(servicesKey)) servicesKey.spaceBefore = true;
  return doc.toString({ singleQuote: true, lineWidth: 0 });
}

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The stack file of a stage, relative to the repo root. */
export const stackFileOf = (stage: string): string => `deployment/stacks/${stage}.yml`;

/** The stack file's text for a compose file: derived, serialised, and formatted as Prettier formats the repo. */
export async function renderStack(compose: object, options: StackOptions): Promise<string> {
  const text = serialiseStack(deriveStack(compose, options), options);
  const target = join(root, 'deployment/stacks/stack.yml');
  return format(text, { ...(await resolveConfig(target)), filepath: target });
}

/** Every stage that has a compose file: its name, compose file and stack file (both relative to the root). */
export function stagesWithCompose(): { stage: string; source: string; stackFile: string }[] {
  return existingStages(root)
    .filter((stage) => existsSync(join(root, stage, 'docker-compose.yml')))
    .map((stage) => ({ stage, source: `${stage}/docker-compose.yml`, stackFile: stackFileOf(stage) }));
}

/** The stack file every stage should have, by path relative to the root. */
export async function expectedStackFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const { source, stackFile } of stagesWithCompose())
    files[stackFile] = await renderStack(readCompose(join(root, source)), { source });
  return files;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes('--check');
  if (args.some((a) => a !== '--check')) {
    console.error('usage: npm run stack [-- --check]');
    return 2;
  }
  const expected = await expectedStackFiles();
  const dir = join(root, 'deployment/stacks');
  const leftOver = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^demo\d+\.yml$/.test(f))
        .map((f) => `deployment/stacks/${f}`)
        .filter((f) => !(f in expected))
    : [];
  let problems = 0;
  for (const [file, text] of Object.entries(expected)) {
    const path = join(root, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) {
      console.log(`${file}: up to date`);
    } else if (check) {
      console.log(`${file}: ${current === undefined ? 'missing' : 'STALE'} (run \`npm run stack\`)`);
      problems++;
    } else {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, text);
      console.log(`${file}: written`);
    }
  }
  for (const file of leftOver) {
    if (check) {
      console.log(`${file}: left over, its stage has no docker-compose.yml (run \`npm run stack\`)`);
      problems++;
    } else {
      rmSync(join(root, file));
      console.log(`${file}: removed, its stage has no docker-compose.yml`);
    }
  }
  return problems === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof StackError)) throw err;
    console.error(`stack: ${err.message}`);
    process.exitCode = 1;
  }
}
