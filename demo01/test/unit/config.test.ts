import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lib/config.js';

describe('loadConfig', () => {
  it('runs locally with no environment at all', () => {
    const config = loadConfig('book-api', {});
    expect(config.port).toBe(8081);
    expect(config.urls.numberApi).toBe('http://localhost:8084');
    expect(config.instanceId).toMatch(/:8081$/);
  });

  it('names an instance on a port chosen at listen (PORT=0) by its pid, so two of them never share one id', () => {
    expect(loadConfig('book-api', { PORT: '0' }).instanceId).toMatch(new RegExp(`-pid${process.pid}$`));
  });

  it('takes what the environment says', () => {
    const config = loadConfig('shoppingcart-api', {
      PORT: '9999',
      INSTANCE_ID: 'cart-a',
      INVENTORY_API_URL: 'http://inventory-api:8085/',
    });
    expect(config).toMatchObject({ port: 9999, instanceId: 'cart-a' });
    expect(config.urls.inventoryApi).toBe('http://inventory-api:8085');
  });

  it('refuses a bad value with a sentence naming the variable', () => {
    expect(() => loadConfig('web', { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig('web', { PORT: '70000' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig('web', { NUMBER_API_URL: 'not a url' })).toThrow(/NUMBER_API_URL/);
    expect(() => loadConfig('web', { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
