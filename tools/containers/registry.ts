/**
 * Looking inside a stage's service registry (demo02 on): the etcd container of the stack, read with its own
 * etcdctl (`docker exec`, so etcd's client port need not be published).
 */
import { run } from './docker.ts';

/** The registry's key prefix; a registration is `/pie/services/<service>/<instance-id>`. */
export const servicesPrefix = '/pie/services/';

/** What an instance writes under its key (demo02's `Instance`). */
export interface Registration {
  key: string;
  service: string;
  instanceId: string;
  url: string;
  pid?: number;
  startedAt?: string;
  version?: string;
  /** whether the key is attached to a lease (it then goes when the lease ends) */
  leased: boolean;
}

interface EtcdGetJson {
  kvs?: { key: string; value?: string; lease?: number | string }[];
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** etcd in one container of the stack. */
export class StackEtcd {
  readonly container: string;

  /** `container`: the id or name of the running etcd container. */
  constructor(container: string) {
    this.container = container;
  }

  /** Runs etcdctl inside the etcd container (by its full path: the upstream image is distroless). */
  async etcdctl(args: string[], timeoutMs = 15_000) {
    return run(
      'docker',
      ['exec', this.container, '/usr/local/bin/etcdctl', '--endpoints=http://127.0.0.1:2379', ...args],
      { timeoutMs },
    );
  }

  /** Every registration under the prefix, in key order; throws when etcdctl fails. */
  async registrations(prefix = servicesPrefix): Promise<Registration[]> {
    const result = await this.etcdctl(['get', '--prefix', prefix, '--write-out=json']);
    if (result.code !== 0)
      throw new Error(`etcdctl get --prefix ${prefix}: ${result.stderr || result.stdout}`);
    const json = JSON.parse(result.stdout) as EtcdGetJson;
    return (json.kvs ?? []).map((kv) => {
      const key = b64(kv.key);
      let value: Partial<Registration> = {};
      try {
        value = JSON.parse(b64(kv.value ?? '')) as Partial<Registration>;
      } catch {
        // not JSON: reported by the caller's expectations (no url, no instanceId)
      }
      const [service = '', ...rest] = key.slice(prefix.length).split('/');
      return {
        ...value,
        key,
        service: value.service ?? service,
        instanceId: value.instanceId ?? rest.join('/'),
        url: value.url ?? '',
        leased: Number(kv.lease ?? 0) !== 0,
      };
    });
  }

  /** The registrations of one service. */
  async instancesOf(service: string): Promise<Registration[]> {
    return this.registrations(`${servicesPrefix}${service}/`);
  }
}
