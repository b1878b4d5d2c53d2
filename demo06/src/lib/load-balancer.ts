import { countEjection, countRetry } from './metrics.js';
import type { Instance, ServiceView } from './registry.js';

/**
 * Client-side load balancing over a service's registered instances: the registry watch keeps the list current,
 * calls go round-robin, an instance that refuses connections or answers 5xx is ejected for a cooldown, and a
 * failed call is retried on another instance when that is safe. Bounded: at most `maxAttempts` instances, and
 * never longer in total than the caller's timeout.
 */

/** How one attempt failed, as far as the caller can tell. */
export type Failure =
  /** The request provably never reached the instance (refused, unreachable): any request may be retried. */
  | 'not-sent'
  /** It may have been processed (timed out, connection lost, 5xx): only idempotent requests may be retried. */
  | 'maybe-processed';

export class AttemptError extends Error {
  readonly failure: Failure;
  /** Whether the instance is taken out of rotation for the cooldown. */
  readonly eject: boolean;

  constructor(message: string, failure: Failure, eject: boolean) {
    super(message);
    this.failure = failure;
    this.eject = eject;
  }
}

export interface BalancerOptions {
  maxAttempts: number;
  cooldownMs: number;
}

export const defaultBalancerOptions: BalancerOptions = { maxAttempts: 3, cooldownMs: 5000 };

export class LoadBalancer {
  readonly view: ServiceView;
  private readonly options: BalancerOptions;
  private next = 0;
  /** instance id → when it may take traffic again */
  private readonly ejected = new Map<string, number>();

  constructor(view: ServiceView, options: BalancerOptions = defaultBalancerOptions) {
    this.view = view;
    this.options = options;
  }

  /** The next instance in rotation, skipping ejected and already-tried ones (ejected ones only as a last resort). */
  pick(tried: ReadonlySet<string> = new Set()): Instance | undefined {
    const now = Date.now();
    const candidates = this.view.instances.filter((i) => !tried.has(i.instanceId));
    const healthy = candidates.filter((i) => (this.ejected.get(i.instanceId) ?? 0) <= now);
    const pool = healthy.length > 0 ? healthy : candidates;
    if (pool.length === 0) return undefined;
    const instance = pool[this.next % pool.length];
    this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER;
    return instance;
  }

  private eject(instance: Instance, reason: string) {
    const wasIn = (this.ejected.get(instance.instanceId) ?? 0) <= Date.now();
    this.ejected.set(instance.instanceId, Date.now() + this.options.cooldownMs);
    if (wasIn) {
      countEjection(this.view.service);
      const { cooldownMs } = this.options;
      this.view.log.warn(
        { dependency: this.view.service, ejected: instance.instanceId, reason, cooldownMs },
        'instance ejected',
      );
    }
  }

  /**
   * Runs `attempt` on one instance after another until one succeeds, the failure makes a retry unsafe, the
   * attempts run out, or the deadline passes. `idempotent`: the request may safely be repeated.
   */
  async send<T>(
    idempotent: boolean,
    deadline: number,
    attempt: (instance: Instance, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const tried = new Set<string>();
    let lastError: Error | undefined;
    while (tried.size < this.options.maxAttempts) {
      const instance = this.pick(tried);
      const timeLeft = deadline - Date.now();
      if (instance === undefined || timeLeft <= 0) break;
      if (tried.size > 0) countRetry(this.view.service);
      tried.add(instance.instanceId);
      try {
        const result = await attempt(instance, timeLeft);
        this.ejected.delete(instance.instanceId);
        return result;
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        lastError = err;
        if (err.eject) this.eject(instance, err.message);
        if (err.failure === 'maybe-processed' && !idempotent) break;
      }
    }
    throw lastError ?? new AttemptError('has no registered instance', 'not-sent', false);
  }
}
