import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lib/config.js';

describe('loadConfig', () => {
  it('runs locally with no environment at all', () => {
    const config = loadConfig('book-api', {});
    expect(config.port).toBe(8081);
    expect(config.etcdEndpoints).toEqual(['http://127.0.0.1:2379']);
    expect(config.advertiseHost).toBe('localhost');
    expect(config.registryTtlSeconds).toBe(10);
    expect(config.instanceId).toMatch(/:8081$/);
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

  it('refuses a bad value with a sentence naming the variable', () => {
    expect(() => loadConfig('web', { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig('web', { PORT: '70000' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig('web', { ETCD_ENDPOINTS: 'not a url' })).toThrow(/ETCD_ENDPOINTS/);
    expect(() => loadConfig('web', { REGISTRY_TTL_SECONDS: '1' })).toThrow(/REGISTRY_TTL_SECONDS/);
    expect(() => loadConfig('web', { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
