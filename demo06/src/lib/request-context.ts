import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

/** What the outgoing calls made while serving one request need to know about it. */
interface RequestContext {
  /** The request's X-Request-Id (made up when it came without one): sent on every outgoing call. */
  readonly requestId: string;
  readonly res: ServerResponse;
  /** Instances of other services that answered calls made for it: sent back as X-Upstream-Served-By. */
  readonly upstreams: string[];
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs the rest of the request inside its context. A request without an X-Request-Id is given one in
 * `req.headers`, so everything after this (the request log, the reply's X-Request-Id) sees the same id.
 */
export const requestContext: RequestHandler = (req, res, next) => {
  let requestId = req.headers['x-request-id'];
  if (typeof requestId !== 'string' || requestId === '') {
    requestId = randomUUID();
    req.headers['x-request-id'] = requestId;
  }
  storage.run({ requestId, res, upstreams: [] }, next);
};

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * Records that `servedBy` answered a call made for the current request. The header is set here, when an
 * answer arrives, rather than by wrapping every response: only requests that call other services pay for it.
 */
export function noteUpstream(servedBy: string | null): void {
  const context = storage.getStore();
  if (!servedBy || context === undefined || context.upstreams.includes(servedBy)) return;
  context.upstreams.push(servedBy);
  if (!context.res.headersSent) context.res.setHeader('X-Upstream-Served-By', context.upstreams.join(', '));
}
