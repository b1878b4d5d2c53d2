// The Swarm stack files (deployment/stacks/demoNN.yml, `npm run stack`): the derivation rule by rule on small
// compose files, then every stage's file: up to date, valid to the Compose Specification schema, and read without
// a complaint by the docker CLIs of this machine (Docker 20.10, the Pis' Debian docker.io, and newer ones).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  deriveStack,
  environmentMap,
  hostPort,
  parseCompose,
  readCompose,
  renderStack,
  restartPolicy,
  root,
  type Stack,
  STACK_VERSION,
  StackError,
  serialiseStack,
  stagesWithCompose,
} from '../deploy/stack.ts';

const source = 'demo99/docker-compose.yml';
const derive = (yaml: string, options = {}) =>
  deriveStack(parseCompose(yaml, 'test'), { source, ...options });
const service = (yaml: string, name = 'a') => {
  const derived = derive(yaml).services[name];
  if (derived === undefined) throw new Error(`no service ${name}`);
  return derived;
};

describe('deriveStack', () => {
  it('writes compose file format 3.8 (Docker 20.10 refuses a stack file without version)', () => {
    expect(STACK_VERSION).toBe('3.8');
    expect(derive('services: { a: { image: x } }').version).toBe('3.8');
  });

  it('drops build, container_name and depends_on in every form', () => {
    const stack = derive(`
services:
  a: { image: x, build: ., container_name: the-a, depends_on: [b] }
  b: { image: y, build: { context: ., dockerfile: Dockerfile }, depends_on: { a: { condition: service_healthy } } }
  c: { image: z, depends_on: { a: { condition: service_started, restart: true } } }
`);
    for (const s of Object.values(stack.services)) {
      expect(s).not.toHaveProperty('build');
      expect(s).not.toHaveProperty('container_name');
      expect(s).not.toHaveProperty('depends_on');
    }
    expect(Object.keys(stack.services)).toEqual(['a', 'b', 'c']);
  });

  it('keeps init, healthcheck, stop_grace_period, user, command and deploy.resources as they are', () => {
    const healthcheck = {
      test: ['CMD', 'node', 'h.js'],
      interval: '5s',
      timeout: '3s',
      retries: 5,
      start_period: '10s',
    };
    const s = service(`
services:
  a:
    image: x
    init: true
    user: '65534:65534'
    command: ['node', 'main.js']
    stop_grace_period: 10s
    healthcheck: ${JSON.stringify(healthcheck)}
    deploy: { resources: { limits: { memory: 128M }, reservations: { memory: 64M } } }
`);
    expect(s).toMatchObject({
      init: true,
      user: '65534:65534',
      command: ['node', 'main.js'],
      stop_grace_period: '10s',
      healthcheck,
    });
    expect(s.deploy.resources).toEqual({ limits: { memory: '128M' }, reservations: { memory: '64M' } });
  });

  it.each([
    ['unless-stopped', { condition: 'any' }],
    ['always', { condition: 'any' }],
    ['on-failure', { condition: 'on-failure' }],
    ['on-failure:3', { condition: 'on-failure', max_attempts: 3 }],
    ["'no'", { condition: 'none' }],
    ['no', { condition: 'none' }],
  ])('turns restart: %s into deploy.restart_policy', (restart, policy) => {
    const s = service(`services: { a: { image: x, restart: ${restart} } }`);
    expect(s).not.toHaveProperty('restart');
    expect(s.deploy.restart_policy).toEqual(policy);
  });

  it("leaves restart_policy to Swarm's default when compose says nothing, and refuses a policy it does not know", () => {
    expect(service('services: { a: { image: x } }').deploy).not.toHaveProperty('restart_policy');
    expect(restartPolicy(false)).toEqual({ condition: 'none' }); // `restart: no` to a YAML 1.1 reader
    expect(() => service('services: { a: { image: x, restart: sometimes } }')).toThrow(
      /services\.a\.restart: "sometimes" is not a compose restart policy/,
    );
  });

  it('pulls the images built from the stage from the cluster registry, tagged PIE_IMAGE_TAG; others as they are', () => {
    const stack = derive(`
services:
  a: { build: ., image: microservice-pie/demo99 }
  b: { image: prom/prometheus:v3.4.1 }
`);
    expect(stack.services.a?.image).toBe('${PIE_REGISTRY}/microservice-pie/demo99:${PIE_IMAGE_TAG}');
    expect(stack.services.b?.image).toBe('prom/prometheus:v3.4.1');
    expect(() => derive('services: { a: { build: . } }')).toThrow(/services\.a: no image/);
    expect(() => derive('services: { a: { build: ., image: "microservice-pie/demo99:1.0" } }')).toThrow(
      /has a tag; the stack tags the stage's image with PIE_IMAGE_TAG/,
    );
  });

  it("replaces the stage's etcd with the cluster's: no etcd service, ETCD_ENDPOINTS is ${PIE_ETCD_ENDPOINTS}", () => {
    const stack = derive(`
services:
  etcd: { image: quay.io/coreos/etcd:v3.5.21 }
  a: { image: x, environment: { ETCD_ENDPOINTS: 'http://etcd:2379', OTHER: kept } }
  b: { image: x, environment: ['ETCD_ENDPOINTS=http://etcd:2379,http://etcd-b:2379'] }
`);
    expect(Object.keys(stack.services)).toEqual(['a', 'b']);
    expect(stack.services.a?.environment).toEqual({ ETCD_ENDPOINTS: '${PIE_ETCD_ENDPOINTS}', OTHER: 'kept' });
    expect(stack.services.b?.environment).toEqual({ ETCD_ENDPOINTS: '${PIE_ETCD_ENDPOINTS}' });
  });

  it('advertises the address on the overlay network: ADVERTISE_HOST auto becomes auto:<its subnet>', () => {
    const yaml = `
services:
  a: { image: x, environment: { ADVERTISE_HOST: auto } }
  b: { image: x, environment: { ADVERTISE_HOST: pi-3 } }
`;
    expect(derive(yaml).services.a?.environment?.ADVERTISE_HOST).toBe('auto:10.20.0.0/16');
    expect(derive(yaml).services.b?.environment?.ADVERTISE_HOST).toBe('pi-3');
    expect(derive(yaml, { subnet: '10.30.0.0/16' }).services.a?.environment?.ADVERTISE_HOST).toBe(
      'auto:10.30.0.0/16',
    );
  });

  it('writes environment as a plain map of strings, merged anchors resolved', () => {
    const stack = derive(`
x-node-env: &node-env
  NODE_OPTIONS: --max-old-space-size=64
x-registry-env: &registry-env
  ETCD_ENDPOINTS: http://etcd:2379
  ADVERTISE_HOST: auto
x-service: &service
  image: x
  init: true
services:
  a:
    <<: *service
    environment:
      <<: [*node-env, *registry-env]
      PORT: 8084
      DEBUG: true
      FROM_SHELL:
`);
    expect(stack.services.a).toMatchObject({ image: 'x', init: true });
    expect(stack.services.a?.environment).toEqual({
      NODE_OPTIONS: '--max-old-space-size=64',
      ETCD_ENDPOINTS: '${PIE_ETCD_ENDPOINTS}',
      ADVERTISE_HOST: 'auto:10.20.0.0/16',
      PORT: '8084',
      DEBUG: 'true',
      FROM_SHELL: null,
    });
    expect(environmentMap(['A=b=c', 'B'])).toEqual({ A: 'b=c', B: null });
  });

  it('puts every service on the external overlay network pie only, with endpoint_mode dnsrr', () => {
    const stack = derive(`
services:
  a: { image: x, networks: [backend] }
  b: { image: y, ports: ['8080:8080'] }
`);
    expect(stack.networks).toEqual({ pie: { external: true } });
    for (const s of Object.values(stack.services)) {
      expect(s.networks).toEqual(['pie']);
      expect(s.deploy.endpoint_mode).toBe('dnsrr');
    }
    expect(derive('services: { a: { image: x } }', { network: 'other' }).networks).toEqual({
      other: { external: true },
    });
  });

  it('publishes in host mode on the front node, one replica; an unpublished service has no constraint', () => {
    const stack = derive(`
services:
  front: { image: x, ports: ['8081:8081', '9000:53/udp', { target: 8443, published: '443' }] }
  inner: { image: x }
`);
    expect(stack.services.front?.ports).toEqual([
      { target: 8081, published: 8081, protocol: 'tcp', mode: 'host' },
      { target: 53, published: 9000, protocol: 'udp', mode: 'host' },
      { target: 8443, published: 443, protocol: 'tcp', mode: 'host' },
    ]);
    expect(stack.services.front?.deploy).toMatchObject({
      replicas: 1,
      placement: { constraints: ['node.labels.pie.front == true'] },
    });
    expect(stack.services.inner).not.toHaveProperty('ports');
    expect(stack.services.inner?.deploy.replicas).toBe(1);
    expect(stack.services.inner?.deploy).not.toHaveProperty('placement');
  });

  it('stops the old task before it starts the new one (a host port is held by one task at a time)', () => {
    expect(service("services: { a: { image: x, ports: ['80:80'] } }").deploy.update_config).toEqual({
      parallelism: 1,
      order: 'stop-first',
    });
  });

  it.each([
    ['8080', /lone port is published on a random one/],
    ['127.0.0.1:8080:8080', /binds a host address/],
    ['8080-8081:8080-8081', /is not "published:target"/],
    [{ target: 80, published: 80, host_ip: '127.0.0.1' }, /binds a host address/],
    [{ target: 80 }, /needs a published and a target port/],
    ['80:80/sctp', /has protocol sctp/],
  ])('refuses the port %j (not a host-mode port Swarm can publish)', (port, message) => {
    expect(() => hostPort(port)).toThrow(StackError);
    expect(() => hostPort(port)).toThrow(message);
  });

  it("makes configs of read-only mounts of the stage's infra/ files, one per file, named by content", () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-configs-'));
    try {
      mkdirSync(join(dir, 'infra/grafana/dashboards'), { recursive: true });
      writeFileSync(join(dir, 'infra/alerts.yml'), 'groups: []\n');
      writeFileSync(join(dir, 'infra/grafana/dashboards/a.json'), '{}');
      writeFileSync(join(dir, 'infra/grafana/dashboards/b.json'), '{"b":1}');
      const options = { composeDir: dir, stackDir: join(dir, 'deployment/stacks') };
      const stack = derive(
        'services:\n  p:\n    image: x\n    volumes:\n      - ./infra/alerts.yml:/etc/p/alerts.yml:ro\n      - ./infra/grafana/dashboards:/d:ro\n',
        options,
      );
      const uses = stack.services.p?.configs ?? [];
      expect(uses.map((u) => [u.target, u.mode])).toEqual([
        ['/etc/p/alerts.yml', 0o444],
        ['/d/a.json', 0o444],
        ['/d/b.json', 0o444],
      ]);
      expect(uses.map((u) => stack.configs?.[u.source]?.file)).toEqual([
        '../../infra/alerts.yml',
        '../../infra/grafana/dashboards/a.json',
        '../../infra/grafana/dashboards/b.json',
      ]);
      // A changed file is a new config (a config cannot change); an unchanged one keeps its name.
      writeFileSync(join(dir, 'infra/grafana/dashboards/b.json'), '{"b":2}');
      const again = derive(
        'services:\n  p:\n    image: x\n    volumes:\n      - ./infra/alerts.yml:/etc/p/alerts.yml:ro\n      - ./infra/grafana/dashboards:/d:ro\n',
        options,
      ).services.p?.configs?.map((u) => u.source);
      expect(again?.[0]).toBe(uses[0]?.source);
      expect(again?.[2]).not.toBe(uses[2]?.source);
      for (const volume of [
        './infra/alerts.yml:/etc/p/alerts.yml',
        './other.yml:/o.yml:ro',
        'data:/var/lib/p',
      ])
        expect(() => derive(`services:\n  p:\n    image: x\n    volumes: ['${volume}']\n`, options)).toThrow(
          /read-only mount of the stage's infra\/ files/,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mounts the cluster's signing key, a secret, where compose's gateways read the key their volume holds", () => {
    const stack = derive(`
services:
  gateway-key: { image: x, restart: 'no', volumes: ['gateway-signing-key:/keys'] }
  gateway:
    image: x
    environment: { GATEWAY_SIGNING_KEY_FILE: /run/secrets/gateway-signing-key }
    volumes: ['gateway-signing-key:/run/secrets:ro']
    ports: ['9000:9000']
volumes: { gateway-signing-key: {} }
`);
    // The key's maker and its volume are compose's: the play makes the secret once per cluster.
    expect(Object.keys(stack.services)).toEqual(['gateway']);
    expect(stack.services.gateway?.configs).toBeUndefined();
    expect(stack.services.gateway?.secrets).toEqual([
      { source: 'pie-gateway-signing-key', target: 'gateway-signing-key' },
    ]);
    expect(stack.services.gateway?.environment?.GATEWAY_SIGNING_KEY_FILE).toBe(
      '/run/secrets/gateway-signing-key',
    );
    expect(stack.secrets).toEqual({ 'pie-gateway-signing-key': { external: true } });
    // Every gateway shares the key, so there is one on every node, each publishing its port there.
    expect(stack.services.gateway?.deploy).toMatchObject({ mode: 'global' });
    expect(stack.services.gateway?.deploy).not.toHaveProperty('replicas');
    expect(stack.services.gateway?.deploy).not.toHaveProperty('placement');
    expect(stack.services.gateway?.ports).toEqual([
      { target: 9000, published: 9000, protocol: 'tcp', mode: 'host' },
    ]);
    expect(stack).not.toHaveProperty('volumes');
  });

  it('refuses what it does not know instead of carrying or dropping it unsaid', () => {
    expect(() => derive('services: { a: { image: x, privileged: true } }')).toThrow(
      /services\.a\.privileged: not known to tools\/deploy\/stack\.ts/,
    );
    expect(() => derive('services: { a: { image: x, deploy: { replicas: 3 } } }')).toThrow(
      /services\.a\.deploy\.replicas: not known/,
    );
    expect(() => derive('services: { a: { image: x } }\nvolumes: { data: {} }')).toThrow(/top-level volumes/);
    expect(() => derive('services: { etcd: { image: x } }')).toThrow(/no service but etcd/);
    expect(() => derive('x-service: { image: x }')).toThrow(/no services/);
  });
});

describe('serialiseStack', () => {
  const stack = derive(`
services:
  etcd: { image: e }
  number-api: { build: ., image: microservice-pie/demo99, command: [node, n.js], restart: unless-stopped }
  web: { build: ., image: microservice-pie/demo99, ports: ['8080:8080'] }
`);

  it('says first that the file is generated by `npm run stack` from the compose file and must not be edited', () => {
    const text = serialiseStack(stack, { source });
    expect(text.split('\n')[0]).toBe(
      '# GENERATED by `npm run stack` from demo99/docker-compose.yml: do not edit. Change the compose file, then run',
    );
    expect(text).toContain('docker stack deploy --compose-file deployment/stacks/demo99.yml pie');
  });

  it('tells an operator what each service is: published on the front node, or scalable', () => {
    const text = serialiseStack(stack, { source });
    expect(text).toContain('  # Published on the front node, port 8080: one replica.\n  web:\n');
    expect(text).toContain(
      '  # Not published (only the other services call it): `docker service scale pie_number-api=3`',
    );
  });

  it('reads back as the stack it was written from, before and after formatting', async () => {
    expect(parseYaml(serialiseStack(stack, { source }))).toEqual(stack);
    expect(
      parseYaml(await renderStack(parseCompose('services: { a: { image: x } }', 't'), { source })),
    ).toEqual(derive('services: { a: { image: x } }'));
  });
});

// --- every stage's stack file -----------------------------------------------------------------------------------

const stages = stagesWithCompose();
const variables = {
  PIE_REGISTRY: '10.77.0.11:5000',
  PIE_IMAGE_TAG: 'test-tag',
  PIE_ETCD_ENDPOINTS: 'http://etcd-1:2379,http://etcd-2:2379,http://etcd-3:2379',
};

const schema = JSON.parse(readFileSync(join(root, 'tools/schemas/compose-spec.json'), 'utf8')) as object;
const ajv = new Ajv({ strict: false, allErrors: true });
// The schema names its meta-schema https://json-schema.org/draft-07/schema; Ajv knows draft-07 by its old id.
const draft07 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json') as object;
ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
const validate = ajv.compile(schema);

/** Every docker CLI on this machine (the PATH's and the usual places), once each, with its version. */
function dockerClis(): { path: string; version: string; stackConfig: boolean }[] {
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'docker')),
    '/usr/bin/docker',
    '/usr/local/bin/docker',
  ].filter((p) => existsSync(p));
  const seen = new Set<string>();
  const clis: { path: string; version: string; stackConfig: boolean }[] = [];
  for (const path of candidates) {
    const real = realpathSync(path);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    if (version.status !== 0) continue;
    const help = spawnSync(path, ['stack', '--help'], { encoding: 'utf8', timeout: 15_000 });
    clis.push({
      path,
      version: version.stdout.trim(),
      stackConfig: /^\s+config\s/m.test(`${help.stdout}${help.stderr}`),
    });
  }
  return clis;
}

const clis = dockerClis();
// No daemon: `docker stack deploy` reads and checks the file before it asks the daemon anything, so a daemon
// that is not there is where a good file stops. Nothing is deployed, and no swarm is needed.
const scratch = mkdtempSync(join(tmpdir(), 'pie-stack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const noDaemon = `unix://${join(scratch, 'no-daemon.sock')}`;

function docker(cli: string, args: string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...variables,
    DOCKER_HOST: noDaemon,
    DOCKER_CONFIG: scratch,
  };
  delete env.DOCKER_CONTEXT;
  const r = spawnSync(cli, args, { encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}

/** What `docker stack deploy` says of a stack file, up to the daemon it cannot reach. */
function deployComplaints(cli: string, file: string): string[] {
  const r = docker(cli, ['stack', 'deploy', '--compose-file', file, 'pie-stack-check']);
  return r.output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .filter((line) => !/detach/.test(line)) // newer CLIs: "Since --detach=false was not specified, …"
    .filter((line) => !line.startsWith('Cannot connect to the Docker daemon'))
    .concat(r.output.includes('Cannot connect to the Docker daemon') ? [] : ['(never reached the daemon)']);
}

describe('deployment/stacks', () => {
  it('has a stack file for every stage with a compose file, and those only', () => {
    expect(stages.map((s) => s.stage)).toContain('demo03');
    const check = spawnSync(process.execPath, ['tools/deploy/stack.ts', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stdout + check.stderr).not.toMatch(/STALE|missing|left over/);
    expect(check.status).toBe(0);
  });

  it('has a docker CLI to check the stack files with (required when CI=true)', (context) => {
    if (clis.length === 0 && process.env.CI !== 'true') context.skip('no docker CLI on this machine');
    expect(clis.map((c) => c.path)).not.toEqual([]);
  });

  it.each(clis)('the check with $version reports what the stack drops (it can fail)', ({ path }) => {
    const stack = parseYaml(readFileSync(join(root, stages[0]?.stackFile ?? ''), 'utf8')) as Stack;
    const bad = join(scratch, 'with-build.yml');
    const [name] = Object.keys(stack.services);
    writeFileSync(
      bad,
      JSON.stringify({ ...stack, services: { [name ?? '']: { ...stack.services[name ?? ''], build: '.' } } }),
    );
    expect(deployComplaints(path, bad).join('\n')).toMatch(/Ignoring unsupported options: build/);
  });

  describe.each(stages)('$stackFile', ({ stage, source, stackFile }) => {
    const file = join(root, stackFile);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const written = parseYaml(text) as Stack;
    /** The services the stage's image runs (built in its compose file), as opposed to Prometheus, Grafana. */
    const composed = readCompose(join(root, source)) as { services: Record<string, { build?: unknown }> };
    const own = (name: string) => composed.services[name]?.build !== undefined;

    it(`is what \`npm run stack\` derives from ${source} now`, async () => {
      expect(text, `${stackFile} is stale: run \`npm run stack\``).toBe(
        await renderStack(readCompose(join(root, source)), { source }),
      );
    });

    it('runs the stage image from the cluster registry, the cluster etcd, on pie only', () => {
      expect(Object.keys(written.services).length).toBeGreaterThan(0);
      expect(Object.keys(written.services)).not.toContain('etcd');
      expect(text).not.toMatch(/\/\/etcd:/);
      for (const [name, s] of Object.entries(written.services)) {
        if (own(name)) expect(s.image).toBe(`\${PIE_REGISTRY}/microservice-pie/${stage}:\${PIE_IMAGE_TAG}`);
        else expect(s.image).not.toContain('${');
        expect(s.networks).toEqual(['pie']);
        expect(s.deploy.endpoint_mode).toBe('dnsrr');
        if (s.environment && 'ETCD_ENDPOINTS' in s.environment)
          expect(s.environment.ADVERTISE_HOST).toBe('auto:10.20.0.0/16');
      }
    });

    it('validates against the Compose Specification schema', () => {
      const valid = validate(written);
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
      expect(valid).toBe(true);
    });

    it.each(clis)('is read by `docker stack deploy` of $version without a complaint', ({ path }) => {
      expect(deployComplaints(path, file)).toEqual([]);
    });

    it.each(clis.filter((c) => c.stackConfig))(
      'is what `docker stack config` of $version makes of it',
      ({ path }) => {
        const r = docker(path, ['stack', 'config', '--compose-file', file]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const config = parseYaml(r.stdout) as Stack;
        expect(Object.keys(config.services).sort()).toEqual(Object.keys(written.services).sort());
        for (const [name, s] of Object.entries(config.services)) {
          if (own(name)) expect(s.image).toBe(`10.77.0.11:5000/microservice-pie/${stage}:test-tag`);
          expect(s.deploy.endpoint_mode).toBe('dnsrr');
          expect(s.ports ?? []).toEqual(written.services[name]?.ports ?? []);
          if (s.environment && 'ETCD_ENDPOINTS' in s.environment)
            expect(s.environment.ETCD_ENDPOINTS).toBe(variables.PIE_ETCD_ENDPOINTS);
        }
      },
    );
  });
});
