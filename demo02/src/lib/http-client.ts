import type { HealthCheck } from './health.js';
import { HttpProblem } from './problem.js';
import type { ServiceView } from './registry.js';

export interface Reply<T = unknown> {
  status: number;
  body: T;
  /** Which instance of the dependency answered (its X-Served-By). */
  servedBy: string | null;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A service this one calls, found by name in the registry, with a timeout on every call. A dependency that
 * cannot answer (none registered, refused, timed out, 5xx) becomes a 503 naming it; its 4xx answers are
 * returned to the caller. This stage calls one registered instance, the oldest: scaling is the next problem.
 */
export class Dependency {
  readonly name: string;
  readonly instances: ServiceView;
  readonly timeoutMs: number;

  constructor(instances: ServiceView, timeoutMs: number) {
    this.name = instances.service;
    this.instances = instances;
    this.timeoutMs = timeoutMs;
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
    const instance = this.instances.instances[0];
    if (instance === undefined) throw this.unavailable('has no registered instance');
    let response: Response;
    try {
      response = await fetch(`${instance.url}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(options.body !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw this.unavailable(timedOut ? `did not answer within ${this.timeoutMs} ms` : 'is unreachable');
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500) {
      throw this.unavailable(`answered ${response.status}`);
    }
    let body: T;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw this.unavailable('answered with a body that is not JSON');
    }
    return { status: response.status, body, servedBy: response.headers.get('x-served-by') };
  }

  /** A readiness check: this dependency answers its liveness probe. */
  get readiness(): HealthCheck {
    return { name: this.name, check: async () => void (await this.call('GET', '/health/live')) };
  }

  private unavailable(why: string): HttpProblem {
    return new HttpProblem(503, `${this.name} ${why}`, { dependency: this.name });
  }
}
