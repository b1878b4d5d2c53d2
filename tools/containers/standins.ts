/**
 * Stand-in images: where an upstream image (node:24-alpine, later etcd, prometheus) cannot be pulled, as in
 * offline CI, we build an image under the same tag from the program of the same name installed on this
 * machine (Debian's package, or the npm `node` package for Node), and say so loudly. Tests that run on a
 * stand-in prove our compose file, Dockerfile and services, not the upstream image.
 *
 * `standIns` is a table keyed by image repository (as written in compose files and Dockerfiles, without
 * registry prefix `docker.io/` or `library/`). Adding one is a few lines: find the program, put it and what
 * it needs into a root file system, give the image's config (ENV, USER, ENTRYPOINT, CMD) as upstream has it.
 *
 * Platforms: a stand-in is built for the daemon's own platform from this machine's programs. The `node` stand-in
 * can also be built for another platform (linux/arm64 for the Pis) from the npm registry's `node-linux-<arch>`
 * package and Debian's libraries of that architecture. The daemon's image store holds one platform per tag and
 * the upstream tag stays the daemon's platform, so such a stand-in is tagged `pie-standin/<os>-<arch>/<image>`
 * (see `platformImageName`); deployment/build looks for its base images there.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findBuilder, firstLine, imageSize, mib, run, which } from './docker.ts';

type Log = (line: string) => void;

/** Splits `registry/path:tag@digest` into a normalised repository (`node`, `prom/prometheus`) and a tag. */
export function parseImageRef(ref: string): { repository: string; tag: string } {
  const noDigest = ref.split('@')[0] ?? ref;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const tag = colon > slash ? noDigest.slice(colon + 1) : 'latest';
  let repository = colon > slash ? noDigest.slice(0, colon) : noDigest;
  repository = repository.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  repository = repository.replace(/^library\//, '');
  return { repository, tag };
}

/** A root file system being assembled in a temporary directory; paths are the paths inside the image. */
export class Rootfs {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  }

  private at(imagePath: string): string {
    return path.join(this.dir, imagePath);
  }

  mkdir(imagePath: string, mode = 0o755, uid = 0, gid = 0): void {
    const target = this.at(imagePath);
    mkdirSync(target, { recursive: true, mode: 0o755 });
    chmodSync(target, mode);
    chownSync(target, uid, gid);
  }

  private parent(imagePath: string): void {
    mkdirSync(path.dirname(this.at(imagePath)), { recursive: true, mode: 0o755 });
  }

  writeFile(imagePath: string, content: string, mode = 0o644): void {
    this.parent(imagePath);
    writeFileSync(this.at(imagePath), content);
    chmodSync(this.at(imagePath), mode);
  }

  /** Copies a host file (following symlinks) with its permission bits. */
  copyFile(hostPath: string, imagePath = hostPath): void {
    this.parent(imagePath);
    copyFileSync(hostPath, this.at(imagePath));
    chmodSync(this.at(imagePath), statSync(hostPath).mode & 0o7777);
  }

  /** Copies a host directory tree, keeping symlinks as they are. */
  copyTree(hostDir: string, imagePath: string): void {
    this.parent(imagePath);
    cpSync(hostDir, this.at(imagePath), { recursive: true, verbatimSymlinks: true });
  }

  symlink(target: string, imagePath: string): void {
    this.parent(imagePath);
    symlinkSync(target, this.at(imagePath));
  }

  /** Copies an executable and every shared library `ldd` names, at the paths `ldd` prints. */
  async addExecutable(hostPath: string, imagePath = hostPath): Promise<void> {
    this.copyFile(realpathSync(hostPath), imagePath);
    const ldd = await run('ldd', [hostPath], { timeoutMs: 30_000 });
    if (ldd.code !== 0) return; // a static executable: nothing more to copy
    for (const line of ldd.stdout.split('\n')) {
      const lib = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(0x/.exec(line)?.[1];
      if (lib !== undefined && !existsSync(this.at(lib))) this.copyFile(lib, lib);
    }
  }

  /** /etc/passwd, /etc/group, /tmp, /root and the home of an unprivileged user, as the official images have. */
  addBase(user?: { name: string; uid: number; gid: number; home: string }): void {
    const passwd = [
      'root:x:0:0:root:/root:/bin/sh',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    ];
    const group = ['root:x:0:root', 'nogroup:x:65534:'];
    if (user !== undefined) {
      passwd.push(`${user.name}:x:${user.uid}:${user.gid}:Linux User,,,:${user.home}:/bin/sh`);
      group.push(`${user.name}:x:${user.gid}:${user.name}`);
      this.mkdir(user.home, 0o755, user.uid, user.gid);
    }
    this.writeFile('/etc/passwd', `${passwd.join('\n')}\n`);
    this.writeFile('/etc/group', `${group.join('\n')}\n`);
    this.writeFile('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
    this.mkdir('/root', 0o700);
    this.mkdir('/tmp', 0o1777);
    this.copyFile('/etc/ssl/certs/ca-certificates.crt');
  }
}

/** What a stand-in is made of (for the message and the image label) and how to put it together. */
export interface PreparedStandIn {
  source: string;
  /** fills the root file system and returns the Dockerfile instructions after `FROM scratch` / `ADD` */
  populate(rootfs: Rootfs): Promise<string[]>;
}

export interface StandIn {
  /**
   * finds the program on this machine; throws with the reason when it is not installed. `platform` is the
   * daemon's own unless the stand-in lists others in `platforms`.
   */
  prepare(tag: string, platform: string): Promise<PreparedStandIn>;
  /** platforms other than the daemon's that this stand-in can be built for */
  platforms?: string[];
}

const dockerArchs: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le' };

/** The platform of this machine's programs (the Docker daemon runs here too), e.g. linux/amd64. */
export const nativePlatform = `linux/${dockerArchs[process.arch] ?? process.arch}`;

/**
 * The local name of a stand-in for `image` on `platform`: the upstream tag for the daemon's platform, else
 * `pie-standin/<os>-<arch>/<repository>:<tag>`, so that everyone using the upstream tag keeps its platform.
 */
export function platformImageName(image: string, platform = nativePlatform): string {
  if (platform === nativePlatform) return image;
  const { repository, tag } = parseImageRef(image);
  return `pie-standin/${platform.replaceAll('/', '-')}/${repository}:${tag}`;
}

const shellAndEnv = async (rootfs: Rootfs) => {
  await rootfs.addExecutable(realpathSync('/bin/sh'), '/bin/sh'); // dash on Debian
  await rootfs.addExecutable(which('env') ?? '/usr/bin/env', '/usr/bin/env'); // for `#!/usr/bin/env node`
};

const caCerts = 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt';

/** The Node binary of one major version on this machine (the real ELF file, not a launcher script). */
async function findNode(major: string): Promise<{ binary: string; version: string }> {
  const candidates = [
    process.env.PIE_STANDIN_NODE,
    process.execPath,
    which('node'),
    '/usr/local/bin/node',
    '/usr/bin/node',
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || !existsSync(candidate)) continue;
    const probe = await run(candidate, ['-p', 'process.version + " " + process.execPath'], {
      timeoutMs: 15_000,
    });
    const [version, execPath] = probe.stdout.trim().split(' ');
    if (probe.code === 0 && version?.startsWith(`v${major}.`) && execPath !== undefined) {
      return { binary: realpathSync(execPath), version };
    }
  }
  throw new Error(
    `no Node ${major} binary on this machine (tried PATH, ${process.execPath}); set PIE_STANDIN_NODE`,
  );
}

/** npm's package directory: next to the Node binary if it ships one, else the machine's npm. */
function findNpm(nodeBinary: string): { dir: string; version: string } {
  const candidates = [path.join(path.dirname(path.dirname(nodeBinary)), 'lib', 'node_modules', 'npm')];
  const npm = which('npm');
  if (npm !== undefined) {
    let dir = path.dirname(realpathSync(npm));
    while (dir !== path.dirname(dir)) {
      candidates.push(dir);
      dir = path.dirname(dir);
    }
  }
  for (const dir of candidates) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'npm' && pkg.version !== undefined) return { dir, version: pkg.version };
    } catch {
      // not an npm package directory
    }
  }
  throw new Error('npm is not installed on this machine');
}

export const standIns: Record<string, StandIn> = {
  // node:<major>-alpine and friends: the host's Node of that major version, its npm, /bin/sh, /usr/bin/env,
  // a `node` user (1000:1000, /home/node) like the official image. No package manager (apk) inside.
  // For another platform: see foreignNode.
  node: {
    platforms: ['linux/arm64', 'linux/amd64'].filter((p) => p !== nativePlatform),
    async prepare(tag, platform) {
      const major = /^(\d+)/.exec(tag)?.[1];
      if (major === undefined) throw new Error(`cannot tell the Node version from tag "${tag}"`);
      const node = await findNode(major);
      const npm = findNpm(node.binary);
      if (platform !== nativePlatform) return foreignNode(node.version, npm, platform);
      return {
        source: `Node ${node.version} (${node.binary}) with npm ${npm.version} (${npm.dir})`,
        async populate(rootfs) {
          rootfs.addBase({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });
          await rootfs.addExecutable(node.binary, '/usr/local/bin/node');
          rootfs.copyTree(npm.dir, '/usr/local/lib/node_modules/npm');
          rootfs.symlink('../lib/node_modules/npm/bin/npm-cli.js', '/usr/local/bin/npm');
          rootfs.symlink('../lib/node_modules/npm/bin/npx-cli.js', '/usr/local/bin/npx');
          await shellAndEnv(rootfs);
          return [
            `ENV NODE_VERSION=${node.version.slice(1)} ${caCerts}`,
            'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'CMD ["node"]',
          ];
        },
      };
    },
  },
};

/** The Debian architecture of a Docker platform (linux/arm64 -> arm64). */
function debianArch(platform: string): string {
  const arch = platform.split('/')[1] ?? '';
  const debian: Record<string, string> = { amd64: 'amd64', arm64: 'arm64' };
  const found = debian[arch];
  if (found === undefined) throw new Error(`no Debian architecture known for ${platform}`);
  return found;
}

/** The candidate version of a Debian package of another architecture, without downloading it. */
async function debianVersion(pkg: string): Promise<string> {
  const show = await run('apt-cache', ['show', '--no-all-versions', pkg], { timeoutMs: 60_000 });
  const version = /^Version:\s*(\S+)/m.exec(show.stdout)?.[1];
  if (show.code !== 0 || version === undefined) {
    const arch = pkg.split(':')[1] ?? '?';
    throw new Error(
      `apt knows no ${pkg} (as root, once: dpkg --add-architecture ${arch} && apt-get update; ` +
        'node tools/deploy/images.ts setup does it)',
    );
  }
  return version;
}

/** The newest `node-linux-<arch>` on the npm registry with the host's version, else of its major version. */
async function npmNodeVersion(pkg: string, version: string): Promise<string> {
  for (const spec of [`${pkg}@${version}`, `${pkg}@${version.split('.')[0]}`]) {
    const view = await run('npm', ['view', spec, 'version', '--json'], { timeoutMs: 60_000 });
    if (view.code !== 0 || view.stdout.trim() === '') continue;
    const found = JSON.parse(view.stdout) as string | string[];
    const last = Array.isArray(found) ? found.at(-1) : found;
    if (last !== undefined) return last;
  }
  throw new Error(`the npm registry has no ${pkg}@${version} nor ${pkg}@${version.split('.')[0]}`);
}

/**
 * node:<major>-alpine for another platform: `bin/node` of the npm registry's `node-linux-<arch>` (the host's
 * version if published), the C and C++ runtime from Debian's packages of that architecture (libc6, libstdc++6,
 * libgcc-s1), busybox-static for /bin/sh and /usr/bin/env, the host's npm (JavaScript, so it runs anywhere), and
 * the `node` user. Runs on this machine under qemu-user-static.
 */
async function foreignNode(
  hostVersion: string,
  npm: { dir: string; version: string },
  platform: string,
): Promise<PreparedStandIn> {
  const arch = debianArch(platform);
  const npmArch = platform.split('/')[1] === 'amd64' ? 'x64' : (platform.split('/')[1] ?? '');
  const pkg = `node-linux-${npmArch}`;
  const nodeVersion = await npmNodeVersion(pkg, hostVersion.slice(1));
  const debs = ['libc6', 'libstdc++6', 'libgcc-s1', 'busybox-static'].map((name) => `${name}:${arch}`);
  const versions = await Promise.all(debs.map(async (deb) => `${deb}=${await debianVersion(deb)}`));
  return {
    source:
      `Node v${nodeVersion} for ${platform} (npm ${pkg}@${nodeVersion}) with npm ${npm.version}, ` +
      `Debian ${versions.join(' ')}`,
    async populate(rootfs) {
      const work = mkdtempSync(path.join(os.tmpdir(), 'pie-standin-debs-'));
      try {
        const pack = await run('npm', ['pack', '--silent', `${pkg}@${nodeVersion}`], {
          cwd: work,
          timeoutMs: 600_000,
        });
        const tgz = pack.stdout.trim().split('\n').at(-1) ?? '';
        if (pack.code !== 0 || tgz === '')
          throw new Error(`npm pack ${pkg}@${nodeVersion}: ${firstLine(pack)}`);
        const untar = await run('tar', ['-xzf', tgz, 'package/bin/node'], { cwd: work, timeoutMs: 120_000 });
        if (untar.code !== 0) throw new Error(`tar ${tgz}: ${firstLine(untar)}`);
        const download = await run('apt-get', ['download', ...versions], { cwd: work, timeoutMs: 600_000 });
        if (download.code !== 0)
          throw new Error(`apt-get download ${versions.join(' ')}: ${firstLine(download)}`);
        const extracted = path.join(work, 'root');
        for (const deb of readdirSync(work).filter((f) => f.endsWith('.deb'))) {
          const x = await run('dpkg-deb', ['-x', deb, extracted], { cwd: work, timeoutMs: 120_000 });
          if (x.code !== 0) throw new Error(`dpkg-deb -x ${deb}: ${firstLine(x)}`);
        }
        rootfs.addBase({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });
        for (const dir of ['lib', 'lib64', 'usr/lib']) {
          const from = path.join(extracted, dir); // the dynamic loader, libc, libstdc++, libgcc_s
          if (existsSync(from)) rootfs.copyTree(from, `/${dir}`);
        }
        rootfs.copyFile(path.join(work, 'package/bin/node'), '/usr/local/bin/node');
        rootfs.copyFile(path.join(extracted, 'bin/busybox'), '/bin/busybox');
        rootfs.symlink('busybox', '/bin/sh');
        rootfs.symlink('../../bin/busybox', '/usr/bin/env');
        rootfs.copyTree(npm.dir, '/usr/local/lib/node_modules/npm');
        rootfs.symlink('../lib/node_modules/npm/bin/npm-cli.js', '/usr/local/bin/npm');
        rootfs.symlink('../lib/node_modules/npm/bin/npx-cli.js', '/usr/local/bin/npx');
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      return [
        `ENV NODE_VERSION=${nodeVersion} ${caCerts}`,
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'CMD ["node"]',
      ];
    },
  };
}

/** A program installed from Debian, found on PATH (or in the sbin directories), with its version line. */
async function debianProgram(name: string, pkg: string, versionArgs: string[]) {
  const binary = which(name) ?? which(name, '/usr/sbin:/usr/bin:/sbin:/bin');
  if (binary === undefined) throw new Error(`${name} is not installed (Debian: apt-get install ${pkg})`);
  const probe = await run(binary, versionArgs, { timeoutMs: 15_000 });
  const version = `${probe.stdout}${probe.stderr}`.split('\n')[0]?.trim() ?? '?';
  return { binary, version, source: `${version} (${binary}, Debian ${pkg})` };
}

// etcd's images (v3.5+) are distroless: the binaries, no shell. Healthchecks use `etcdctl endpoint health`.
const etcd: StandIn = {
  async prepare() {
    const program = await debianProgram('etcd', 'etcd-server', ['--version']);
    const ctl = which('etcdctl');
    return {
      source: program.source,
      async populate(rootfs) {
        rootfs.addBase();
        await rootfs.addExecutable(program.binary, '/usr/local/bin/etcd');
        if (ctl !== undefined) await rootfs.addExecutable(ctl, '/usr/local/bin/etcdctl');
        rootfs.mkdir('/var/etcd');
        rootfs.mkdir('/var/lib/etcd');
        return ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'EXPOSE 2379 2380', 'CMD ["/usr/local/bin/etcd"]'];
      },
    };
  },
};

// prom/prometheus: /bin/prometheus as entrypoint, runs as nobody in /prometheus, default config in /etc/prometheus.
const prometheus: StandIn = {
  async prepare() {
    const program = await debianProgram('prometheus', 'prometheus', ['--version']);
    return {
      source: program.source,
      async populate(rootfs) {
        rootfs.addBase();
        await rootfs.addExecutable(program.binary, '/bin/prometheus');
        const promtool = which('promtool');
        if (promtool !== undefined) await rootfs.addExecutable(promtool, '/bin/promtool');
        for (const [from, to] of [
          ['/etc/prometheus/prometheus.yml', '/etc/prometheus/prometheus.yml'],
          ['/etc/prometheus/console_libraries', '/usr/share/prometheus/console_libraries'],
          ['/etc/prometheus/consoles', '/usr/share/prometheus/consoles'],
          ['/usr/share/prometheus/web', '/usr/share/prometheus/web'],
        ] as const) {
          if (!existsSync(from)) continue;
          if (statSync(from).isDirectory()) rootfs.copyTree(from, to);
          else rootfs.copyFile(from, to);
        }
        await shellAndEnv(rootfs);
        rootfs.mkdir('/prometheus', 0o755, 65534, 65534);
        return [
          'USER nobody',
          'WORKDIR /prometheus',
          'EXPOSE 9090',
          'ENTRYPOINT ["/bin/prometheus"]',
          'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
        ];
      },
    };
  },
};

// registry:2, Docker's distribution registry (2.8): /bin/registry, the upstream config (filesystem storage in
// /var/lib/registry, a volume; http on :5000; no auth), and upstream's /entrypoint.sh, so `serve <config>`,
// `<config>` alone and `garbage-collect` work as arguments. REGISTRY_* variables override the config as upstream
// (REGISTRY_HTTP_TLS_CERTIFICATE, REGISTRY_HTTP_TLS_KEY for TLS): that is the program's own behaviour.
const registryConfig = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

const registryEntrypoint = `#!/bin/sh
set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
`;

const registry: StandIn = {
  async prepare() {
    const program = await debianProgram('docker-registry', 'docker-registry', ['--version']);
    return {
      source: program.source,
      async populate(rootfs) {
        rootfs.addBase();
        await rootfs.addExecutable(program.binary, '/bin/registry');
        await shellAndEnv(rootfs);
        rootfs.writeFile('/etc/docker/registry/config.yml', registryConfig);
        rootfs.writeFile('/entrypoint.sh', registryEntrypoint, 0o755);
        rootfs.mkdir('/var/lib/registry');
        return [
          'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          'VOLUME ["/var/lib/registry"]',
          'EXPOSE 5000',
          'ENTRYPOINT ["/entrypoint.sh"]',
          'CMD ["/etc/docker/registry/config.yml"]',
        ];
      },
    };
  },
};

standIns['quay.io/coreos/etcd'] = etcd;
standIns['gcr.io/etcd-development/etcd'] = etcd;
standIns['prom/prometheus'] = prometheus;
standIns['quay.io/prometheus/prometheus'] = prometheus;
standIns.registry = registry;

/** Upstream images that have no Debian program to stand in for them: the harness leaves them out. */
export const withoutStandIn: Record<string, string> = {
  'grafana/grafana': 'Grafana is not packaged in Debian',
  'openzipkin/zipkin': 'Zipkin is not packaged in Debian',
};

/**
 * Builds the stand-in for `image` on `platform` with the prepared program, tagged `name`; returns the build time
 * in ms.
 */
async function buildStandIn(
  name: string,
  image: string,
  platform: string,
  prepared: PreparedStandIn,
  log: Log,
): Promise<number> {
  const started = Date.now();
  const context = mkdtempSync(path.join(os.tmpdir(), 'pie-standin-'));
  try {
    const rootfs = new Rootfs(path.join(context, 'rootfs'));
    const config = await prepared.populate(rootfs);
    const tar = await run(
      'tar',
      ['--numeric-owner', '-C', rootfs.dir, '-cf', path.join(context, 'rootfs.tar'), '.'],
      {
        timeoutMs: 300_000,
      },
    );
    if (tar.code !== 0) throw new Error(`tar failed: ${firstLine(tar)}`);
    rmSync(rootfs.dir, { recursive: true, force: true });
    const label = (s: string) => JSON.stringify(s);
    writeFileSync(
      path.join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'ADD rootfs.tar /',
        `LABEL pie.standin=${label(image)} pie.standin.platform=${label(platform)} pie.standin.source=${label(prepared.source)}`,
        ...config,
        '',
      ].join('\n'),
    );
    const builder = await findBuilder();
    // FROM scratch takes its platform from --platform with BuildKit; the classic builder writes its own.
    if (platform !== nativePlatform && !builder.buildkit)
      throw new Error(`a stand-in for ${platform} needs BuildKit (${builder.note})`);
    const platformArgs = builder.buildkit ? ['--platform', platform] : [];
    const build = await run(
      builder.docker,
      ['build', '--network', 'host', ...platformArgs, '--tag', name, context],
      { env: builder.env, timeoutMs: 900_000 },
    );
    if (build.code !== 0)
      throw new Error(`docker build of stand-in ${name} failed:\n${build.stderr}${build.stdout}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  log(`stand-in ${name} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return Date.now() - started;
}

/** ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$ as Compose interpolates them. */
export function interpolate(text: string, vars: Record<string, string | undefined> = process.env): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      const key = name ?? bare ?? '';
      const value = vars[key];
      if (op === ':-') return value === undefined || value === '' ? (arg ?? '') : value;
      if (op === '-') return value ?? arg ?? '';
      return value ?? '';
    },
  );
}

/** The images a Dockerfile builds from (`FROM` lines), without `scratch` and its own stage names. */
export function dockerfileImages(dockerfile: string): string[] {
  const text = readFileSync(dockerfile, 'utf8').replace(/\\\r?\n/g, ' ');
  const args: Record<string, string> = {};
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(line);
    if (arg !== null && !seenFrom) {
      args[arg[1] ?? ''] = (arg[2] ?? '').replace(/^"(.*)"$/, '$1');
      continue;
    }
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from === null) continue;
    seenFrom = true;
    const image = interpolate(from[1] ?? '', args);
    if (image !== 'scratch' && !stages.has(image.toLowerCase()) && !images.includes(image))
      images.push(image);
    if (from[2] !== undefined) stages.add(from[2].toLowerCase());
  }
  return images;
}

export const composeFileNames = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

export function composeFileOf(stageDir: string): string {
  const file = composeFileNames.map((n) => path.join(stageDir, n)).find((f) => existsSync(f));
  if (file === undefined) throw new Error(`no compose file in ${stageDir}`);
  return file;
}

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
}

/** Every image a stage needs from outside: `image:` of services that are not built, FROM lines of Dockerfiles. */
export function stageImages(stageDir: string): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  const need = (image: string, by: string) => needs.set(image, [...(needs.get(image) ?? []), by]);
  const compose = parseYaml(readFileSync(composeFileOf(stageDir), 'utf8'), { merge: true }) as {
    services?: Record<string, ComposeService>;
  };
  for (const [name, service] of Object.entries(compose.services ?? {})) {
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      const dockerfile = path.resolve(
        stageDir,
        interpolate(build.context ?? '.'),
        interpolate(build.dockerfile ?? 'Dockerfile'),
      );
      for (const image of dockerfileImages(dockerfile))
        need(image, `${path.relative(stageDir, dockerfile)} (${name})`);
    } else if (service.image !== undefined) {
      need(interpolate(service.image), `service ${name}`);
    }
  }
  return needs;
}

export interface ImagesReport {
  present: string[];
  standIns: { image: string; source: string; builtMs?: number; sizeBytes?: number }[];
  /** images neither present, pullable nor stand-in-able: the services using them must be left out */
  missing: { image: string; reason: string; usedBy: string[] }[];
}

function banner(log: Log, text: string): void {
  const rule = '='.repeat(100);
  log(`\n${rule}\n${text}\n${rule}\n`);
}

async function inspectLabel(image: string, label: string): Promise<string | undefined | null> {
  const result = await run(
    'docker',
    ['image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, image],
    {
      timeoutMs: 30_000,
    },
  );
  if (result.code !== 0) return null; // no such image
  const value = result.stdout.trim();
  return value === '' || value === '<no value>' ? undefined : value;
}

/** What `ensureImage` found for one image. */
export type ImageOutcome =
  | { kind: 'present'; name: string }
  | { kind: 'standIn'; name: string; source: string; builtMs?: number; sizeBytes?: number }
  | { kind: 'missing'; name: string; reason: string };

/**
 * Makes sure `image` is here for `platform` (the daemon's own by default): present already, or a stand-in built,
 * under `platformImageName(image, platform)`. Never throws for a missing image: says why in the outcome.
 */
export async function ensureImage(
  image: string,
  options: { platform?: string; usedBy?: string[]; log?: Log } = {},
): Promise<ImageOutcome> {
  const { platform = nativePlatform, usedBy = [], log = console.log } = options;
  const name = platformImageName(image, platform);
  const { repository, tag } = parseImageRef(image);
  const standIn = standIns[repository];
  const foreign = platform !== nativePlatform;
  const canBuild = standIn !== undefined && (!foreign || (standIn.platforms ?? []).includes(platform));
  const label = await inspectLabel(name, 'pie.standin.source'); // null: absent; undefined: not a stand-in
  const what = foreign ? `${name} (${image} for ${platform})` : image;
  if (label === undefined) {
    log(`image ${what}: present`);
    return { kind: 'present', name };
  }
  let prepared: PreparedStandIn | undefined;
  let why: string;
  if (label !== null) {
    prepared = canBuild ? await standIn.prepare(tag, platform).catch(() => undefined) : undefined;
    if (prepared === undefined || prepared.source === label) {
      banner(
        log,
        `STAND-IN IMAGE: ${what} is a local stand-in built earlier from ${label}, not the upstream image`,
      );
      return { kind: 'standIn', name, source: label, sizeBytes: await imageSize(name) };
    }
    log(`stand-in ${what} was built from ${label}; rebuilding it from ${prepared.source}`);
    why = 'was not present locally';
  } else {
    // The harness never reaches a registry itself (it runs on offline machines too); to test against the
    // upstream images, fetch them first with `docker compose pull`.
    why = foreign
      ? `is not present locally for ${platform} (to test against it: docker pull --platform ${platform} ${image}, then tag it ${name})`
      : 'is not present locally (run `docker compose pull` to test against it)';
    let reason = withoutStandIn[repository] ?? `no stand-in builder for repository "${repository}"`;
    if (standIn !== undefined && !canBuild) reason = `its stand-in is built for ${nativePlatform} only`;
    if (canBuild) {
      try {
        prepared = await standIn.prepare(tag, platform);
      } catch (error) {
        reason = `no stand-in can be built: ${(error as Error).message}`;
      }
    }
    if (prepared === undefined) {
      const by = usedBy.length > 0 ? ` Used by: ${usedBy.join(', ')}` : '';
      banner(log, `IMAGE LEFT OUT: ${what} ${why}, and ${reason}.${by}`);
      return { kind: 'missing', name, reason: `${why}; ${reason}` };
    }
  }
  const builtMs = await buildStandIn(name, image, platform, prepared, log);
  const sizeBytes = await imageSize(name);
  banner(
    log,
    `STAND-IN IMAGE: ${what} built locally from ${prepared.source} because the upstream image ${why}.\n` +
      `It took ${(builtMs / 1000).toFixed(1)} s and is ${sizeBytes === undefined ? '?' : mib(sizeBytes)}. ` +
      'Tests on it prove our files and services, not the upstream image.',
  );
  return { kind: 'standIn', name, source: prepared.source, builtMs, sizeBytes };
}

/**
 * Makes sure every image the stage needs from outside is here: present already, or a stand-in built. Returns
 * what it found; never throws for one missing image.
 */
export async function ensureImages(stageDir: string, log: Log = console.log): Promise<ImagesReport> {
  const report: ImagesReport = { present: [], standIns: [], missing: [] };
  for (const [image, usedBy] of stageImages(stageDir)) {
    const outcome = await ensureImage(image, { usedBy, log });
    if (outcome.kind === 'present') report.present.push(image);
    else if (outcome.kind === 'missing') report.missing.push({ image, reason: outcome.reason, usedBy });
    else {
      const { source, builtMs, sizeBytes } = outcome;
      report.standIns.push({ image, source, sizeBytes, ...(builtMs !== undefined && { builtMs }) });
    }
  }
  return report;
}
