import type { HealthCheck } from './health.js';
import { HttpProblem } from './problem.js';
import { AttemptError, LoadBalancer, noteUpstream } from './load-balancer.js';
import type { Instance, ServiceView } from './registry.js';

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

/** Errors of a connection that was never made: the request cannot have reached the instance. */
const notConnected = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A service this one calls, found by name in the registry, with a timeout on every call. Calls are spread over
 * its instances by a load balancer. A dependency that cannot answer (none registered, refused, timed out, 5xx)
 * becomes a 503 naming it; its 4xx answers are returned to the caller.
 */
export class Dependency {
  readonly name: string;
  readonly balancer: LoadBalancer;
  readonly timeoutMs: number;

  constructor(instances: ServiceView, timeoutMs: number) {
    this.name = instances.service;
    this.balancer = new LoadBalancer(instances);
    this.timeoutMs = timeoutMs;
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
    // Safe to repeat: the methods HTTP calls idempotent, and any request carrying an idempotency key.
    const idempotent =
      ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method) || 'idempotency-key' in (options.headers ?? {});
    try {
      const reply = await this.balancer.send(
        idempotent,
        Date.now() + this.timeoutMs,
        (instance, timeLeftMs) => this.callOnce<T>(instance, method, path, options, timeLeftMs),
      );
      noteUpstream(reply.servedBy);
      return reply;
    } catch (err) {
      if (err instanceof AttemptError) throw this.unavailable(err.message);
      throw err;
    }
  }

  private async callOnce<T>(
    instance: Instance,
    method: string,
    path: string,
    options: CallOptions,
    timeLeftMs: number,
  ): Promise<Reply<T>> {
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
        signal: AbortSignal.timeout(timeLeftMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new AttemptError(`did not answer within ${this.timeoutMs} ms`, 'maybe-processed', false);
      }
      const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
      throw new AttemptError('is unreachable', notConnected.has(code) ? 'not-sent' : 'maybe-processed', true);
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500) {
      throw new AttemptError(`answered ${response.status}`, 'maybe-processed', true);
    }
    let body: T;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw new AttemptError('answered with a body that is not JSON', 'maybe-processed', false);
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
