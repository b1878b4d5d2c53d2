import { describe, expect, it } from 'vitest';
import { AttemptError, LoadBalancer } from '../../src/lib/load-balancer.js';
import { createLogger } from '../../src/lib/log.js';
import type { Instance, ServiceView } from '../../src/lib/registry.js';

/** The balancer's choices, over a fixed instance list (the registry part is tested against real etcd). */
const instance = (id: string): Instance => ({
  service: 'number-api',
  instanceId: id,
  url: `http://${id}`,
  pid: 1,
  startedAt: '',
  version: 'test',
});
const viewOf = (...ids: string[]) =>
  ({
    service: 'number-api',
    instances: ids.map(instance),
    log: createLogger({}, 'error'),
  }) as unknown as ServiceView;
const balancer = (...ids: string[]) =>
  new LoadBalancer(viewOf(...ids), { maxAttempts: 3, cooldownMs: 60_000 });
const far = () => Date.now() + 60_000;

describe('LoadBalancer', () => {
  it('goes round-robin over the registered instances', () => {
    const lb = balancer('a', 'b', 'c');
    expect(Array.from({ length: 6 }, () => lb.pick()?.instanceId)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('retries a request that never reached an instance on another one, and ejects the refusing one', async () => {
    const lb = balancer('a', 'b');
    const calls: string[] = [];
    const result = await lb.send(false, far(), async (i) => {
      calls.push(i.instanceId);
      if (i.instanceId === 'a') throw new AttemptError('is unreachable', 'not-sent', true);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toEqual(['a', 'b']);
    expect([lb.pick()?.instanceId, lb.pick()?.instanceId]).toEqual(['b', 'b']); // a sits out its cooldown
  });

  it('does not repeat a non-idempotent request that may have been processed', async () => {
    const lb = balancer('a', 'b');
    let attempts = 0;
    await expect(
      lb.send(false, far(), async () => {
        attempts++;
        throw new AttemptError('answered 500', 'maybe-processed', true);
      }),
    ).rejects.toThrow('answered 500');
    expect(attempts).toBe(1);
  });

  it('repeats an idempotent one, on a different instance each time, at most maxAttempts times', async () => {
    const lb = balancer('a', 'b', 'c', 'd');
    const calls: string[] = [];
    await expect(
      lb.send(true, far(), async (i) => {
        calls.push(i.instanceId);
        throw new AttemptError('answered 503', 'maybe-processed', true);
      }),
    ).rejects.toThrow('answered 503');
    expect(calls).toHaveLength(3);
    expect(new Set(calls).size).toBe(3);
  });

  it('stops at the deadline, whatever attempts are left', async () => {
    const lb = balancer('a', 'b', 'c');
    let attempts = 0;
    await expect(
      lb.send(true, Date.now() + 30, async () => {
        attempts++;
        await new Promise((r) => setTimeout(r, 40));
        throw new AttemptError('did not answer', 'maybe-processed', false);
      }),
    ).rejects.toThrow('did not answer');
    expect(attempts).toBe(1);
  });

  it('with every instance ejected, still tries one rather than none', () => {
    const lb = balancer('a');
    void lb
      .send(false, far(), async () => {
        throw new AttemptError('is unreachable', 'not-sent', true);
      })
      .catch(() => undefined);
    expect(lb.pick()?.instanceId).toBe('a');
  });

  it('with no instance registered, says so', async () => {
    await expect(balancer().send(true, far(), async () => 'never')).rejects.toThrow(
      'has no registered instance',
    );
  });
});
