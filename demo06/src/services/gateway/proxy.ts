import {
  Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
} from 'node:http';
import type { Request, Response } from 'express';
import type { ServiceName } from '../../lib/config.js';
import { DependencyUnavailable, neverSent } from '../../lib/dependency.js';
import { AttemptError, LoadBalancer } from '../../lib/load-balancer.js';
import { timeCall } from '../../lib/metrics.js';
import { HttpProblem } from '../../lib/problem.js';
import type { Instance, Registry } from '../../lib/registry.js';

/**
 * Forwards a request to a service found in the registry, through the services' own load balancer, streaming both bodies.
 * A failed attempt is retried on another instance only when that is safe: when the request provably never
 * reached the first (refused), or when it is idempotent and carries no body. Once a service has started to
 * answer, its answer is the client's, whatever its status.
 */

/** Headers of one connection, never forwarded (RFC 9110 §7.6.1), plus those the connection names. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers a client may not set: who the user is comes from the token, where the request came from from the
 * gateway, and the token itself goes no further than the gateway (no service needs it, no service logs it).
 */
const fromGatewayOnly = new Set([
  'x-user-sub',
  'x-user-role',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'authorization',
  'host',
]);

/**
 * A Host header as the store takes it: a name or an IPv4 address, or an IPv6 one in brackets, and maybe a port.
 * The services build URLs from it (X-Forwarded-Host): anything else would be echoed into the storefront's config.
 */
const validHost =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** What frames a message: never dropped because a Connection header names it (that would unframe the body). */
const framing = new Set(['content-length', 'host']);

function withoutHopByHop(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => !framing.has(name)),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !hopByHop.has(name) && !named.has(name) && !drop.has(name)) kept[name] = value;
  return kept;
}

/** Who made the request, as the token says: sent to the service in headers only the gateway sets. */
export interface Identity {
  sub: string;
  role: string;
}

/** Connections to the services, kept alive and bounded per instance. */
const agent = new Agent({ keepAlive: true, maxSockets: 128 });

/** The request was never sent (nothing of its body read): another instance may take it. */
class NotSent extends AttemptError {
  constructor(why: string) {
    super(why, 'not-sent', true);
  }
}

/** The client went away before an answer came: nobody is left to answer, and no other instance is tried. */
class ClientGone extends Error {}

export class Forwarder {
  private readonly registry: Registry;
  private readonly timeoutMs: number;
  private readonly balancers = new Map<ServiceName, LoadBalancer>();

  constructor(registry: Registry, timeoutMs: number) {
    this.registry = registry;
    this.timeoutMs = timeoutMs;
  }

  private balancer(service: ServiceName): LoadBalancer {
    let balancer = this.balancers.get(service);
    if (balancer === undefined) {
      balancer = new LoadBalancer(this.registry.discover(service));
      this.balancers.set(service, balancer);
    }
    return balancer;
  }

  /** Starts watching the services the gateway forwards to, so the first requests find them. */
  watch(services: readonly ServiceName[]): void {
    for (const service of services) this.balancer(service);
  }

  /** Forwards `req` to `path` on `service`, and its answer back; rejects with a problem when none came. */
  async forward(
    req: Request,
    res: Response,
    service: ServiceName,
    path: string,
    who?: Identity,
  ): Promise<void> {
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    // Node sends a GET's, HEAD's, DELETE's or OPTIONS' body unframed: the service would read it as a second
    // request, past every check here. None of the store's requests of these methods has a body.
    if (hasBody && ['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method))
      throw new HttpProblem(400, `a ${req.method} request carries no body here`);
    const idempotent = ['GET', 'HEAD', 'PUT', 'DELETE'].includes(req.method) && !hasBody;
    const headers = withoutHopByHop(req.headers, fromGatewayOnly);
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host !== undefined) {
      if (!validHost.test(req.headers.host))
        throw new HttpProblem(400, 'the Host header is not a host name (or address) and port');
      headers['x-forwarded-host'] = req.headers.host;
    }
    if (who !== undefined) {
      headers['x-user-sub'] = who.sub;
      headers['x-user-role'] = who.role;
    }
    const deadline = Date.now() + this.timeoutMs;
    try {
      const answer = await this.balancer(service).send(idempotent, deadline, (instance, timeLeftMs) =>
        this.attempt(req, res, instance, { path: path + query, headers, hasBody, timeLeftMs }),
      );
      relay(answer, res);
    } catch (err) {
      if (err instanceof ClientGone) return;
      if (!(err instanceof AttemptError)) throw err;
      if (/did not answer within/.test(err.message))
        throw new HttpProblem(504, `${service} ${err.message}`, { dependency: service });
      throw new DependencyUnavailable(service, err.message, err.failure !== 'not-sent');
    }
  }

  /** One attempt on one instance: resolves with its answer's head, or rejects with how it failed. */
  private attempt(
    req: Request,
    res: Response,
    instance: Instance,
    call: { path: string; headers: OutgoingHttpHeaders; hasBody: boolean; timeLeftMs: number },
  ): Promise<IncomingMessage> {
    // A client that left while an earlier attempt failed: nobody is waiting for this one.
    if (req.destroyed || res.destroyed) return Promise.reject(new ClientGone());
    const ended = timeCall(instance.service, instance.instanceId);
    const url = new URL(instance.url);
    return new Promise((resolve, reject) => {
      let bodyStarted = false;
      let timedOut = false;
      let clientLeft = false;
      const upstream = request(
        {
          agent,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 address without its brackets
          port: url.port || 80,
          method: req.method,
          path: call.path,
          headers: call.headers,
        },
        (answer) => {
          clearTimeout(timer);
          ended(answer.statusCode !== undefined && answer.statusCode >= 500 ? 'server-error' : 'ok');
          resolve(answer);
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        upstream.destroy();
      }, call.timeLeftMs);
      // Once it answers, a service that stops sending for as long again is cut off, its client too.
      upstream.setTimeout(this.timeoutMs, () => upstream.destroy());
      // A client that goes away takes the call with it.
      const clientGone = () => {
        if (res.writableFinished) return;
        clientLeft = true;
        upstream.destroy();
      };
      res.once('close', clientGone);
      upstream.once('error', (err) => {
        clearTimeout(timer);
        res.off('close', clientGone);
        if (clientLeft) {
          ended('client-gone');
          reject(new ClientGone());
        } else if (timedOut) {
          ended('timed-out');
          reject(new AttemptError(`did not answer within ${call.timeLeftMs} ms`, 'maybe-processed', false));
        } else if (neverSent(err) && !bodyStarted) {
          ended('refused');
          reject(new NotSent('is unreachable'));
        } else {
          ended('connection-lost');
          reject(new AttemptError('lost the connection before answering', 'maybe-processed', true));
        }
      });
      if (!call.hasBody) {
        upstream.end();
        return;
      }
      // The body is read only once a connection is open, so a refused attempt leaves it for the next one.
      upstream.once('socket', (socket) => {
        const start = () => {
          bodyStarted = true;
          req.pipe(upstream);
        };
        if (socket.connecting) socket.once('connect', start);
        else start();
      });
    });
  }
}

/** The service's answer, streamed to the client without the hop-by-hop headers. */
function relay(answer: IncomingMessage, res: Response): void {
  const headers = withoutHopByHop(answer.headers, new Set());
  // The gateway's own X-Served-By stays; the service's joins the instances that answered upstream.
  const upstreams = [answer.headers['x-served-by'], answer.headers['x-upstream-served-by']]
    .filter((value): value is string => typeof value === 'string' && value !== '')
    .join(', ');
  delete headers['x-served-by'];
  delete headers['x-upstream-served-by'];
  if (upstreams !== '') headers['x-upstream-served-by'] = upstreams;
  delete headers['x-request-id']; // the gateway's request context already answers with the same id
  res.writeHead(answer.statusCode ?? 502, headers);
  answer.pipe(res);
  answer.once('aborted', () => res.destroy());
  res.once('close', () => {
    if (!answer.complete) answer.destroy();
  });
}
