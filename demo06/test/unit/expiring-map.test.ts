import { describe, expect, it } from 'vitest';
import { ExpiringMap } from '../../src/lib/expiring-map.js';

describe('ExpiringMap', () => {
  it('forgets an entry once its TTL has passed, and a touch starts it again', () => {
    let now = 0;
    const map = new ExpiringMap<string, number>(100, 10, () => now);
    map.set('a', 1);
    map.set('b', 2);
    now = 50;
    map.touch('a');
    now = 100;
    expect(map.get('b')).toBeUndefined();
    expect(map.get('a')).toBe(1);
    now = 150;
    expect(map.size).toBe(0);
  });

  it('refuses a new key when full, but replaces a known one', () => {
    const map = new ExpiringMap<string, number>(1000, 2);
    expect(map.set('a', 1)).toBe(true);
    expect(map.set('b', 2)).toBe(true);
    expect(map.set('c', 3)).toBe(false);
    expect(map.set('a', 4)).toBe(true);
    expect([map.get('a'), map.get('c'), map.size]).toEqual([4, undefined, 2]);
  });
});
