import { type ClientRequest, request } from 'node:http';

/**
 * A small client of etcd's v3 API through its HTTP/JSON gateway (`/v3/...`): the handful of calls a registry
 * needs, with Node's own fetch for unary calls and a node:http stream for watches. etcd speaks int64 as strings
 * and bytes as base64; this module is the only place that knows.
 */

export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

export interface WatchHandlers {
  /** The watch is in place; `revision` is etcd's current revision. */
  onCreated: (revision: number) => void;
  onEvents: (events: WatchEvent[], revision: number) => void;
  /**
   * The stream ended or broke (etcd stopped, the connection dropped, no answer to a progress request), or
   * `compacted`: the revision to resume from is gone, so the watcher must list again before it watches again.
   */
  onClosed: (why: string, compacted: boolean) => void;
}

export interface Watch {
  cancel: () => void;
}

/** etcd could not be reached at any endpoint, or refused the call. */
export class EtcdError extends Error {
  /** gRPC status code, when etcd answered with an error (5: not found). */
  readonly code?: number;

  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

const encode = (text: string) => Buffer.from(text).toString('base64');
const decode = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString();

/** The first key after every key that starts with `prefix`: the range end of a prefix query. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 1;
  return bytes.toString();
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
}
const toKv = (raw: RawKv): KeyValue => ({
  key: decode(raw.key),
  value: decode(raw.value),
  modRevision: Number(raw.mod_revision ?? 0),
});

export class Etcd {
  readonly endpoints: string[];
  private readonly timeoutMs: number;
  /** The endpoint that answered last: tried first next time. */
  private current = 0;

  constructor(endpoints: string[], timeoutMs = 2000) {
    this.endpoints = endpoints;
    this.timeoutMs = timeoutMs;
  }

  /** One unary call, trying each endpoint in turn until one answers. */
  private async call<T>(path: string, body: unknown): Promise<T> {
    let lastError = 'no endpoint';
    for (let tried = 0; tried < this.endpoints.length; tried++) {
      const index = (this.current + tried) % this.endpoints.length;
      const endpoint = this.endpoints[index];
      let response: Response;
      try {
        response = await fetch(`${endpoint}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastError = `${endpoint}: ${(err as Error).name === 'TimeoutError' ? 'no answer' : 'unreachable'}`;
        continue;
      }
      const json = (await response.json().catch(() => ({}))) as T & { code?: number; message?: string };
      if (response.status >= 500 && json.code === 14) {
        // "unavailable": this member lost its leader or is stopping; another member may answer.
        lastError = `${endpoint}: ${json.message ?? 'unavailable'}`;
        continue;
      }
      this.current = index;
      if (!response.ok) throw new EtcdError(json.message ?? `etcd answered ${response.status}`, json.code);
      return json;
    }
    throw new EtcdError(`etcd is unreachable (${lastError})`);
  }

  async grant(ttlSeconds: number): Promise<string> {
    const reply = await this.call<{ ID: string }>('/v3/lease/grant', { TTL: ttlSeconds });
    return reply.ID;
  }

  /** Renews a lease; returns its remaining TTL in seconds, 0 when etcd no longer knows it. */
  async keepAlive(lease: string): Promise<number> {
    const reply = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: lease });
    return Number(reply.result?.TTL ?? 0);
  }

  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease });
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: encode(key), value: encode(value), lease });
  }

  /** Every key under a prefix, with the revision the answer is consistent at. */
  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const reply = await this.call<{ header?: { revision?: string }; kvs?: RawKv[] }>('/v3/kv/range', {
      key: encode(prefix),
      range_end: encode(prefixEnd(prefix)),
    });
    return { kvs: (reply.kvs ?? []).map(toKv), revision: Number(reply.header?.revision ?? 0) };
  }

  /**
   * Watches every key under a prefix from a revision on. A plain node:http request rather than fetch: fetch
   * (undici) cuts a response body that has been quiet for 300 s, and a watch is quiet for as long as nothing
   * changes. The request body stays open to ask for a progress notification every `progressMs`; a stream that
   * does not answer one within two intervals is taken for dead (a half-open connection, a stuck member).
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers, progressMs = 5000): Watch {
    const endpoint = new URL(this.endpoints[this.current] ?? 'http://127.0.0.1:2379');
    // Next time, start from the next endpoint: a broken stream often means this member is gone.
    this.current = (this.current + 1) % this.endpoints.length;
    let closed = false;
    let lastHeard = Date.now();
    const close = (why: string, compacted = false) => {
      if (closed) return;
      closed = true;
      clearInterval(progress);
      req.destroy();
      handlers.onClosed(why, compacted);
    };
    const progress = setInterval(() => {
      if (Date.now() - lastHeard > 2 * progressMs) close(`no progress from ${endpoint.host}`);
      else req.write(JSON.stringify({ progress_request: {} }));
    }, progressMs);

    const req: ClientRequest = request({
      host: endpoint.hostname,
      port: endpoint.port,
      path: '/v3/watch',
      method: 'POST',
      headers: { 'content-type': 'application/json', expect: '100-continue' },
    });
    req.on('error', (err) => close(`${endpoint.host}: ${err.message}`));
    req.on('response', (res) => {
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        lastHeard = Date.now();
        pending += chunk;
        // The gateway writes one JSON object per line.
        let newline = pending.indexOf('\n');
        while (newline >= 0 && !closed) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line) this.onWatchMessage(line, handlers, close);
          newline = pending.indexOf('\n');
        }
      });
      res.on('end', () => close(`${endpoint.host} ended the watch`));
      res.on('error', (err) => close(`${endpoint.host}: ${err.message}`));
    });
    req.setSocketKeepAlive(true, 1000);
    // The gateway reads a streamed request body only once it has answered `Expect: 100-continue`.
    req.on('continue', () => {
      req.write(
        JSON.stringify({
          create_request: {
            key: encode(prefix),
            range_end: encode(prefixEnd(prefix)),
            start_revision: String(fromRevision),
          },
        }),
      );
    });
    req.flushHeaders();
    return { cancel: () => close('cancelled') };
  }

  private onWatchMessage(
    line: string,
    handlers: WatchHandlers,
    close: (why: string, compacted?: boolean) => void,
  ) {
    let message: {
      result?: {
        header?: { revision?: string };
        created?: boolean;
        canceled?: boolean;
        compact_revision?: string;
        events?: { type?: string; kv?: RawKv }[];
      };
      error?: { message?: string };
    };
    try {
      message = JSON.parse(line);
    } catch {
      return close('etcd sent a watch message that is not JSON');
    }
    const result = message.result;
    if (result === undefined) return close(message.error?.message ?? 'etcd ended the watch with an error');
    const revision = Number(result.header?.revision ?? 0);
    if (result.compact_revision !== undefined && result.compact_revision !== '0') {
      return close(`revision ${result.compact_revision} and older were compacted`, true);
    }
    if (result.canceled) return close('etcd cancelled the watch');
    if (result.created) return handlers.onCreated(revision);
    if (result.events !== undefined && result.events.length > 0) {
      handlers.onEvents(
        result.events.map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: toKv(e.kv ?? {}) })),
        revision,
      );
    }
  }
}
