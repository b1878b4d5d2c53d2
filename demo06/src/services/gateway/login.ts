import { isIPv4, isIPv6 } from 'node:net';
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

/** The eight 16-bit groups of an IPv6 address (a zone `%eth0` dropped), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const bare = address.split('%', 1)[0] ?? '';
  if (!isIPv6(bare)) return undefined;
  // The URL parser writes it canonically: lower case, one `::`, an embedded IPv4 address as two hex groups.
  const [head = '', tail] = new URL(`http://[${bare}]/`).hostname.slice(1, -1).split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':').map((g) => Number.parseInt(g, 16)));
  const front = groups(head);
  if (tail === undefined) return front;
  const back = groups(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address in the last 32 bits of a mapped (::ffff:0:0/96), translated or NAT64 (64:ff9b::/96) one. */
function embeddedIpv4(g: number[]): string | undefined {
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  const carries =
    (zeros(0, 5) && g[5] === 0xffff) ||
    (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) ||
    (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6));
  if (!carries) return undefined;
  const [high = 0, low = 0] = g.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The client a failed login counts against: its IPv4 address (also when it comes mapped into IPv6, or through
 * NAT64), or the /64 network of its IPv6 one. One home or one phone is given a whole /64, so an address of its own
 * per guess would otherwise be a fresh window per guess. Anything else is its own key.
 */
export function clientKey(address: string): string {
  if (isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== undefined) return ipv4;
  const network = `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::`;
  return `${new URL(`http://[${network}]/`).hostname.slice(1, -1)}/64`;
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
