import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceConfig } from './config.js';
import { Etcd, type KeyValue, type WatchEvent } from './etcd.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './log.js';
import { forgetView, instanceLeft, watchView } from './metrics.js';
import { stage } from './stage.js';

/**
 * The service registry on etcd. Each instance registers itself under `/pie/services/<service>/<instance-id>`,
 * attached to a lease it keeps alive, and revokes the lease when it stops; callers watch a service's keys and
 * always know its live instances. etcd down at start, lost later, or restarted: every loop here retries with
 * backoff and carries on with what it last knew.
 */

/** What a registration says: how to reach the instance, and who it is. */
export interface Instance {
  service: string;
  instanceId: string;
  url: string;
  /** Where Prometheus reads its /metrics, when not at `url` (the gateway's). */
  metricsUrl?: string;
  pid: number;
  startedAt: string;
  version: string;
}

export const servicesPrefix = '/pie/services/';
const firstRetryMs = 250;
const maxRetryMs = 5000;

/** Registers this instance and keeps the registration alive until `stop`. */
export class Registration {
  private readonly etcd: Etcd;
  private readonly log: Logger;
  private readonly ttlSeconds: number;
  private readonly stopping = new AbortController();
  private lease: string | undefined;
  private loop: Promise<void> | undefined;
  /** Whether this instance has been in the registry since it started (readiness waits for it). */
  registered = false;

  constructor(etcd: Etcd, log: Logger, ttlSeconds: number) {
    this.etcd = etcd;
    this.log = log;
    this.ttlSeconds = ttlSeconds;
  }

  start(self: Instance): void {
    this.loop = this.keepRegistered(
      `${servicesPrefix}${self.service}/${self.instanceId}`,
      JSON.stringify(self),
    );
  }

  private async keepRegistered(key: string, value: string) {
    let retryMs = firstRetryMs;
    let failing = false;
    while (!this.stopping.signal.aborted) {
      try {
        if (this.lease === undefined) {
          const lease = await this.etcd.grant(this.ttlSeconds);
          await this.etcd.put(key, value, lease);
          this.lease = lease;
          this.log.info(
            { key, ttlSeconds: this.ttlSeconds },
            this.registered ? 'registered again' : 'registered',
          );
          this.registered = true;
        } else if ((await this.etcd.keepAlive(this.lease)) === 0) {
          // The lease expired while etcd was out of reach, or etcd lost its data: register anew.
          this.log.warn({ key }, 'registration expired; registering again');
          this.lease = undefined;
          continue;
        }
        if (failing) this.log.info({ key }, 'etcd reachable again');
        failing = false;
        retryMs = firstRetryMs;
        // Renew at a third of the TTL: two renewals may fail before the key is lost.
        await sleep((this.ttlSeconds * 1000) / 3, undefined, { signal: this.stopping.signal });
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (!failing) {
          this.log.warn(
            { key, reason: (err as Error).message, endpoints: this.etcd.endpoints },
            this.registered
              ? 'etcd unreachable: still serving, retrying the registration'
              : 'etcd unreachable: not registered yet, retrying',
          );
        }
        failing = true;
        await sleep(retryMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, maxRetryMs);
      }
    }
  }

  /** Readiness: not ready before the first registration; afterwards an etcd outage does not make it unready. */
  get readiness(): HealthCheck {
    return {
      name: 'registry',
      check: async () => {
        if (!this.registered)
          throw new Error(`not registered in etcd yet (${this.etcd.endpoints.join(', ')})`);
      },
    };
  }

  /** Revokes the lease, so the key disappears now rather than when the TTL runs out. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    if (this.lease === undefined) return;
    await this.etcd.revoke(this.lease).then(
      () => this.log.info('deregistered'),
      (err: Error) =>
        this.log.warn({ reason: err.message }, 'could not deregister; the key expires with its lease'),
    );
  }
}

/** The live instances of one service, kept current by a watch on its keys. */
export class ServiceView {
  readonly service: string;
  readonly log: Logger;
  private readonly etcd: Etcd;
  private readonly prefix: string;
  private readonly byKey = new Map<string, Instance>();
  private readonly stopping = new AbortController();
  private cancelWatch: (() => void) | undefined;
  /** The last revision seen: a broken watch resumes after it. */
  private revision = 0;

  constructor(etcd: Etcd, log: Logger, service: string) {
    this.etcd = etcd;
    this.log = log;
    this.service = service;
    this.prefix = `${servicesPrefix}${service}/`;
    watchView(this);
    void this.follow();
  }

  /** In the order they registered in (oldest first). */
  get instances(): Instance[] {
    return [...this.byKey.values()];
  }

  private async follow() {
    let retryMs = firstRetryMs;
    let mustList = true;
    let failing = false;
    while (!this.stopping.signal.aborted) {
      try {
        if (mustList) {
          await this.list();
          mustList = false;
        }
        const outcome = await this.watchUntilClosed();
        if (this.stopping.signal.aborted) break;
        if (!outcome.created) throw new Error(outcome.why);
        mustList = outcome.mustList;
        if (failing) this.log.info({ dependency: this.service }, 'etcd reachable again');
        failing = false;
        retryMs = firstRetryMs;
        this.log.debug({ dependency: this.service, why: outcome.why }, 'registry watch ended; resuming');
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (!failing) {
          this.log.warn(
            { dependency: this.service, instances: this.byKey.size, reason: (err as Error).message },
            'etcd unreachable: keeping the last known instances',
          );
        }
        failing = true;
        await sleep(retryMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, maxRetryMs);
      }
    }
  }

  private async list() {
    const { kvs, revision } = await this.etcd.list(this.prefix);
    this.byKey.clear();
    for (const kv of [...kvs].sort((a, b) => a.modRevision - b.modRevision)) this.put(kv);
    this.revision = revision;
  }

  private watchUntilClosed(): Promise<{ created: boolean; mustList: boolean; why: string }> {
    return new Promise((resolve) => {
      let created = false;
      let lostData = false;
      const watch = this.etcd.watch(this.prefix, this.revision + 1, {
        onCreated: (revision) => {
          created = true;
          // etcd behind what we saw: a new cluster or restored data. What we know is from another world.
          if (revision < this.revision) {
            lostData = true;
            watch.cancel();
          }
        },
        onEvents: (events) => this.apply(events),
        onClosed: (why, compacted) => {
          this.cancelWatch = undefined;
          resolve({ created, mustList: compacted || lostData, why });
        },
      });
      this.cancelWatch = watch.cancel;
    });
  }

  private apply(events: WatchEvent[]) {
    for (const event of events) {
      if (event.type === 'put') this.put(event.kv);
      else if (this.byKey.delete(event.kv.key)) {
        instanceLeft(this.service, event.kv.key.slice(this.prefix.length));
        this.log.info({ dependency: this.service, key: event.kv.key }, 'instance left');
      }
      this.revision = Math.max(this.revision, event.kv.modRevision);
    }
  }

  private put(kv: KeyValue) {
    try {
      const instance = JSON.parse(kv.value) as Instance;
      if (typeof instance.url !== 'string' || typeof instance.instanceId !== 'string') throw new Error();
      const known = this.byKey.has(kv.key);
      this.byKey.set(kv.key, instance);
      if (!known) this.log.info({ dependency: this.service, url: instance.url }, 'instance joined');
    } catch {
      this.log.warn({ key: kv.key }, 'ignoring a registration that is not an instance');
    }
  }

  stop(): void {
    forgetView(this);
    this.stopping.abort();
    this.cancelWatch?.();
  }
}

/** What a service gets: its own registration, and a view of every service it calls. */
export class Registry {
  private readonly etcd: Etcd;
  private readonly log: Logger;
  private readonly config: ServiceConfig;
  private readonly views = new Map<string, ServiceView>();
  readonly registration: Registration;

  constructor(config: ServiceConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.etcd = new Etcd(config.etcdEndpoints, config.callTimeoutMs);
    this.registration = new Registration(this.etcd, log, config.registryTtlSeconds);
  }

  /** Registers this instance, reachable at the advertised host and the port it listens on (and its metrics port). */
  register(port: number, metricsPort?: number): void {
    const { service, instanceId, advertiseHost } = this.config;
    this.registration.start({
      service,
      instanceId,
      url: `http://${advertiseHost}:${port}`,
      ...(metricsPort !== undefined && { metricsUrl: `http://${advertiseHost}:${metricsPort}` }),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      version: stage.stage,
    });
  }

  /** The live instances of a service, watched from now on. */
  discover(service: string): ServiceView {
    let view = this.views.get(service);
    if (view === undefined) {
      view = new ServiceView(this.etcd, this.log, service);
      this.views.set(service, view);
    }
    return view;
  }

  /** Deregisters and stops watching. */
  async close(): Promise<void> {
    for (const view of this.views.values()) view.stop();
    await this.registration.stop();
  }
}
