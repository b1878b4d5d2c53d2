import express, { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { ExpiringMap } from '../../lib/expiring-map.js';
import type { Logger } from '../../lib/log.js';
import { HttpProblem } from '../../lib/problem.js';
import { parseBody } from '../../lib/validation.js';
import { jwks } from './keys.js';
import type { Tokens } from './tokens.js';
import { MAX_NAME_LENGTH, MAX_PASSWORD_LENGTH, type Users } from './users.js';

export const WWW_AUTHENTICATE = 'Bearer realm="pie"';

export const loginBody = z.strictObject({
  username: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
  password: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
});

/** Failed logins allowed per client and window; past them the client waits for the window to end. */
export interface LoginLimit {
  attempts: number;
  windowMs: number;
  /** Clients tracked at once: the memory stays bounded however many addresses an attacker has. */
  maxClients: number;
  now: () => number;
}

export const defaultLoginLimit: LoginLimit = {
  attempts: 10,
  windowMs: 60_000,
  maxClients: 10_000,
  now: Date.now,
};

export interface LoginOptions {
  tokens: Tokens;
  users: Users;
  log: Logger;
  limit?: Partial<LoginLimit>;
}

/** The same words for an unknown user and a wrong password: a refusal does not say which names exist. */
export const badCredentials = 'the user name or password is wrong';

interface Window {
  attempts: number;
  endsAt: number;
  warned: boolean;
}

/**
 * The client a failed login counts against: its IPv4 address, or the /64 network of its IPv6 one. One home or
 * one phone is given a whole /64, so an address of its own per guess would otherwise be a fresh window per guess.
 */
export function clientKey(address: string): string {
  const ipv4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (ipv4 !== undefined || !address.includes(':')) return ipv4 ?? address;
  const [head = '', tail] = (address.split('%', 1)[0] ?? '').toLowerCase().split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const after = tail === '' ? [] : tail.split(':');
    groups.push(...Array<string>(Math.max(0, 8 - groups.length - after.length)).fill('0'), ...after);
  }
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

const clientOf = (req: Request) => clientKey(req.socket.remoteAddress ?? 'unknown');

/**
 * Failed logins per client (its address, or its IPv6 /64: `clientKey`) in a fixed window that the first failure opens: past `attempts`
 * failures every login of that client is 429 until the window ends, the right password too, so a guesser learns
 * nothing more. Only failures count: a room of people behind one address (a venue's Wi-Fi) logs in freely. At
 * most `maxClients` windows: while they are full, a new client is refused as if throttled.
 */
class Throttle {
  private readonly limit: LoginLimit;
  private readonly log: Logger;
  private readonly windows: ExpiringMap<string, Window>;

  constructor(limit: LoginLimit, log: Logger) {
    this.limit = limit;
    this.log = log;
    this.windows = new ExpiringMap<string, Window>(limit.windowMs, limit.maxClients, limit.now);
  }

  private refusal(res: express.Response, seconds: number, detail: string): HttpProblem {
    res.setHeader('Retry-After', String(seconds));
    return new HttpProblem(429, detail);
  }

  /**
   * Counts the attempt before the password is hashed, so that requests sent at once cannot all pass before the
   * first failure is counted; a right password gives it back (`succeeded`). Refuses a client whose failures fill
   * its window, and a new client while the windows are full.
   */
  readonly check: RequestHandler = (req, res, next) => {
    const client = clientOf(req);
    const window = this.windows.get(client);
    if (window === undefined) {
      const opened = { attempts: 1, endsAt: this.limit.now() + this.limit.windowMs, warned: false };
      if (this.windows.set(client, opened)) return next();
      const seconds = Math.ceil(this.limit.windowMs / 1000);
      this.log.warn({ clients: this.limit.maxClients }, 'login throttled: too many clients at once');
      return next(
        this.refusal(res, seconds, `too many clients are logging in at once; try again in ${seconds} s`),
      );
    }
    if (window.attempts < this.limit.attempts) {
      window.attempts++;
      return next();
    }
    if (!window.warned) {
      window.warned = true;
      this.log.warn(
        { client, attempts: this.limit.attempts, windowMs: this.limit.windowMs },
        'login throttled',
      );
    }
    const seconds = Math.max(1, Math.ceil((window.endsAt - this.limit.now()) / 1000));
    next(this.refusal(res, seconds, `too many failed logins from this client; try again in ${seconds} s`));
  };

  /** A right password: its attempt is not a failure. */
  succeeded(req: Request): void {
    const window = this.windows.get(clientOf(req));
    if (window !== undefined) window.attempts = Math.max(0, window.attempts - 1);
  }
}

/** Tokens are never cached, and neither is a refusal to give one. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** The body must be declared as JSON; an empty body is left to the schema, which names the missing fields. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    throw new HttpProblem(
      415,
      `the request body must be application/json, got "${req.get('content-type') ?? 'none'}"`,
    );
  }
  next();
};

/** `POST /auth/token` (name and password for a token) and `GET /.well-known/jwks.json` (the key that checks it). */
export function loginRoutes({ tokens, users, log, limit }: LoginOptions): Router {
  const router = Router();
  const keySet = jwks(tokens.key);
  const throttle = new Throttle({ ...defaultLoginLimit, ...limit }, log);

  router.post(
    '/auth/token',
    noStore,
    throttle.check,
    requireJson,
    // Parsed here as well as wherever the app parses bodies: a parsed body is not read twice.
    express.json({ limit: '64kb', strict: false, type: 'application/json' }),
    async (req, res) => {
      const { username, password } = parseBody(loginBody, req);
      const user = await users.authenticate(username, password);
      if (user === undefined) {
        // Not the name: a person who types the password into the name field must not find it in the log.
        log.info({ client: clientOf(req) }, 'login refused');
        res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
        throw new HttpProblem(401, badCredentials);
      }
      throttle.succeeded(req);
      log.info({ user: user.name, role: user.role }, 'login');
      res.json({ ...tokens.issue(user), user });
    },
  );

  router.get('/.well-known/jwks.json', (_req, res) => {
    // Short: with a demo key, a restarted gateway has a new one.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(keySet);
  });

  return router;
}
