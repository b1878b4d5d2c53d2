import { type Request, type RequestHandler, type Response, Router } from 'express';
import { HttpProblem, notFound } from '../../lib/problem.js';
import { type Route, routeOf, unsafePath } from './access.js';
import { WWW_AUTHENTICATE } from './login.js';
import type { Forwarder, Identity } from './proxy.js';
import { type Tokens, TokenRefused } from './tokens.js';

/** A 401: no token, or one that is refused (then `error="invalid_token"`, RFC 6750 §3.1). */
function unauthorized(res: Response, detail: string, invalid: boolean): HttpProblem {
  res.setHeader(
    'WWW-Authenticate',
    invalid ? `${WWW_AUTHENTICATE}, error="invalid_token"` : WWW_AUTHENTICATE,
  );
  return new HttpProblem(401, detail);
}

/** The bearer token of a request, if it sent one (an Authorization header of another scheme is no token). */
function bearerToken(req: Request): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Who the request is from, when its route needs someone: a valid token with the role the route needs. */
function identify(req: Request, res: Response, route: Route, tokens: Tokens): Identity | undefined {
  if (route.need === 'anyone') return undefined;
  const token = bearerToken(req);
  if (token === undefined)
    throw unauthorized(
      res,
      `${req.method} ${req.path} needs a logged-in ${route.need}: log in with POST /auth/token`,
      false,
    );
  let claims;
  try {
    claims = tokens.verify(token);
  } catch (err) {
    if (err instanceof TokenRefused) throw unauthorized(res, `${err.reason}: log in again`, true);
    throw err;
  }
  if (claims.role !== route.need)
    throw new HttpProblem(
      403,
      `${req.method} ${req.path} needs the ${route.need} role, and ${claims.sub} is logged in as ${claims.role}`,
    );
  return { sub: claims.sub, role: claims.role };
}

/**
 * Everything the gateway forwards: the table in access.ts says where a request goes and who may send it. A path
 * that could mean something else to the service behind is refused before anything else.
 */
export function forwardedRoutes(forwarder: Forwarder, tokens: Tokens): Router {
  const forward: RequestHandler = async (req, res) => {
    const raw = req.originalUrl.split('?', 1)[0] ?? '';
    const unsafe = unsafePath(raw);
    if (unsafe !== undefined)
      throw new HttpProblem(400, `the path has ${unsafe}, which the gateway does not forward`);
    const route = routeOf(req.method, req.path);
    if (route === undefined) throw notFound(`no route for ${req.method} ${req.path}`);
    await forwarder.forward(req, res, route.service, route.path, identify(req, res, route, tokens));
  };
  // Two patterns, so that the metrics tell the API from the storefront's files.
  return Router().all('/api/{*path}', forward).all('/{*path}', forward);
}
