import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lib/config.js';

// The machine's own interfaces, unless a test sets others (a swarm task's two, say).
const nics = vi.hoisted(() => ({ fake: undefined as Record<string, NetworkInterfaceInfo[]> | undefined }));
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  return { ...os, networkInterfaces: () => nics.fake ?? os.networkInterfaces() };
});

function ipv4(address: string, cidr: string, internal = false): NetworkInterfaceInfo {
  return { address, cidr, netmask: '', family: 'IPv4', mac: '02:42:0a:14:00:07', internal };
}

/** What a swarm task sees: docker_gwbridge listed before the overlay network the services share. */
const swarmTask = {
  lo: [ipv4('127.0.0.1', '127.0.0.1/8', true)],
  eth0: [ipv4('172.18.0.4', '172.18.0.4/16')],
  eth1: [ipv4('10.20.0.7', '10.20.0.7/16')],
};

function withInterfaces<T>(fake: Record<string, NetworkInterfaceInfo[]>, run: () => T): T {
  nics.fake = fake;
  try {
    return run();
  } finally {
    nics.fake = undefined;
  }
}

describe('loadConfig', () => {
  it('runs locally with no environment at all', () => {
    const config = loadConfig('book-api', {});
    expect(config.port).toBe(8081);
    expect(config.etcdEndpoints).toEqual(['http://127.0.0.1:2379']);
    expect(config.advertiseHost).toBe('localhost');
    expect(config.registryTtlSeconds).toBe(10);
    expect(config.instanceId).toMatch(/:8081$/);
  });

  it('names an instance on a port chosen at listen (PORT=0) by its pid, so two of them never share one id', () => {
    expect(loadConfig('book-api', { PORT: '0' }).instanceId).toMatch(new RegExp(`-pid${process.pid}$`));
  });

  it('takes what the environment says', () => {
    const config = loadConfig('shoppingcart-api', {
      PORT: '9999',
      INSTANCE_ID: 'cart-a',
      ETCD_ENDPOINTS: 'http://etcd-1:2379, http://etcd-2:2379/',
      ADVERTISE_HOST: 'pi-3',
    });
    expect(config).toMatchObject({ port: 9999, instanceId: 'cart-a', advertiseHost: 'pi-3' });
    expect(config.etcdEndpoints).toEqual(['http://etcd-1:2379', 'http://etcd-2:2379']);
  });

  it('advertises its own IPv4 address when told auto (what a container needs)', () => {
    expect(loadConfig('number-api', { ADVERTISE_HOST: 'auto' }).advertiseHost).toMatch(
      /^\d+\.\d+\.\d+\.\d+$/,
    );
  });

  it('advertises its address inside the network given by auto:<cidr>', () => {
    const advertised = (value: string) => loadConfig('number-api', { ADVERTISE_HOST: value }).advertiseHost;
    withInterfaces(swarmTask, () => {
      expect(advertised('auto')).toBe('172.18.0.4'); // the first one: not what the other services reach
      expect(advertised('auto:10.20.0.0/16')).toBe('10.20.0.7');
      expect(advertised('auto:172.16.0.0/12')).toBe('172.18.0.4');
      expect(advertised('auto:10.20.0.7/32')).toBe('10.20.0.7');
      expect(advertised('auto:10.20.99.1/16')).toBe('10.20.0.7'); // host bits of the network do not matter
      expect(advertised('auto:0.0.0.0/0')).toBe('127.0.0.1'); // every address is in it: the first one
    });
    // On this machine: loopback is always there, and is taken when the network names it.
    expect(advertised('auto:127.0.0.0/8')).toMatch(/^127\./);
  });

  it('refuses auto:<cidr> when no address of this machine is in that network', () => {
    withInterfaces(swarmTask, () => {
      expect(() => loadConfig('web', { ADVERTISE_HOST: 'auto:10.21.0.0/16' })).toThrow(ConfigError);
      expect(() => loadConfig('web', { ADVERTISE_HOST: 'auto:10.21.0.0/16' })).toThrow(
        'ADVERTISE_HOST=auto:10.21.0.0/16, but no IPv4 address of this machine is in 10.21.0.0/16 ' +
          '(its addresses: 127.0.0.1, 172.18.0.4, 10.20.0.7)',
      );
    });
  });

  it.each([
    'auto:',
    'auto:10.20.0.0',
    'auto:10.20.0.0/33',
    'auto:300.20.0.0/16',
    'auto:fd00::/8',
    'auto:any',
  ])('refuses ADVERTISE_HOST=%s: not an IPv4 network', (value) => {
    expect(() => loadConfig('web', { ADVERTISE_HOST: value })).toThrow(ConfigError);
    expect(() => loadConfig('web', { ADVERTISE_HOST: value })).toThrow(
      `ADVERTISE_HOST must be auto:<IPv4 network in CIDR notation>, such as auto:10.20.0.0/16, got "${value}"`,
    );
  });

  it('refuses a bad value with a sentence naming the variable', () => {
    expect(() => loadConfig('web', { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig('web', { PORT: '70000' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig('web', { ETCD_ENDPOINTS: 'not a url' })).toThrow(/ETCD_ENDPOINTS/);
    expect(() => loadConfig('web', { REGISTRY_TTL_SECONDS: '1' })).toThrow(/REGISTRY_TTL_SECONDS/);
    expect(() => loadConfig('web', { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
