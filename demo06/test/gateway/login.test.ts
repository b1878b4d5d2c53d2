import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/log.js';
import { problemHandler, unknownRoute } from '../../src/lib/problem.js';
import { loadSigningKey } from '../../src/services/gateway/keys.js';
import { badCredentials, clientKey, type LoginLimit, loginRoutes } from '../../src/services/gateway/login.js';
import { Tokens } from '../../src/services/gateway/tokens.js';
import { createUsers, demoAccounts, type Users } from '../../src/services/gateway/users.js';
import { isProblem, type JsonResponse, request } from '../support/http.js';

const tokens = new Tokens(loadSigningKey());
let users: Users;
beforeAll(async () => {
  users = await createUsers();
});

/** Everything the login routes log, to show that no password or token is in it. */
const logged: string[] = [];
const log = createLogger(
  { service: 'gateway' },
  'info',
  new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  }),
);

/** An app with the login routes alone, as the gateway mounts them, on a free port. */
async function start(limit: Partial<LoginLimit>) {
  const app = express();
  app.disable('x-powered-by');
  app.use(loginRoutes({ tokens, users, log, limit }));
  app.use(unknownRoute);
  app.use(problemHandler((err) => log.error({ err }, 'unexpected error')));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

const login = (url: string, body: unknown) => request('POST', `${url}/auth/token`, { json: body });

const expectUnauthorized = (response: JsonResponse) => {
  expect(isProblem(response, 401)).toBe(true);
  expect(response.headers.get('www-authenticate')).toBe('Bearer realm="pie"');
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.body.detail).toBe(badCredentials);
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe('POST /auth/token', () => {
  let url = '';
  let close: () => Promise<unknown> = async () => {};
  beforeAll(async () => ({ url, close } = await start({ attempts: 1_000 })));
  afterAll(() => close());

  it.each(demoAccounts)('gives $name ($role) a token for the right password', async (account) => {
    const response = await login(url, { username: account.name, password: account.password });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { name: account.name, role: account.role },
    });
    expect(tokens.verify(response.body.accessToken)).toMatchObject({ sub: account.name, role: account.role });
  });

  it('refuses a wrong password and an unknown user alike: 401, WWW-Authenticate, the same detail', async () => {
    const wrongPassword = await login(url, { username: 'alice', password: 'bob-pie-2026' });
    const unknownUser = await login(url, { username: 'mallory', password: 'alice-pie-2026' });
    expectUnauthorized(wrongPassword);
    expectUnauthorized(unknownUser);
    expect(unknownUser.body).toEqual(wrongPassword.body);
  });

  it('refuses a name or password in another case, or with spaces around it', async () => {
    expectUnauthorized(await login(url, { username: 'Alice', password: 'alice-pie-2026' }));
    expectUnauthorized(await login(url, { username: 'alice', password: 'ALICE-PIE-2026' }));
    expectUnauthorized(await login(url, { username: ' alice', password: 'alice-pie-2026' }));
    expectUnauthorized(await login(url, { username: 'alice', password: 'alice-pie-2026 ' }));
  });

  it('answers 400 for a missing field, naming it', async () => {
    const response = await login(url, { username: 'alice' });
    expect(isProblem(response, 400)).toBe(true);
    expect(response.body.errors).toEqual([{ path: 'password', message: expect.any(String) }]);
  });

  it('answers 400 for an unknown field, naming it', async () => {
    const response = await login(url, { username: 'alice', password: 'alice-pie-2026', role: 'admin' });
    expect(isProblem(response, 400)).toBe(true);
    expect(response.body.errors).toEqual([{ path: 'role', message: 'unknown field' }]);
  });

  it('answers 400 for fields that are not strings, empty or too long, without echoing them', async () => {
    for (const body of [
      { username: 42, password: 'x' },
      { username: '', password: 'x' },
      { username: 'alice', password: 'p'.repeat(257) },
      { username: 'a'.repeat(65), password: 'x' },
    ]) {
      const response = await login(url, body);
      expect(isProblem(response, 400)).toBe(true);
      expect(response.body.detail).not.toContain('ppppp');
    }
  });

  it('answers 400 for a body that is not JSON, or not a JSON object, and for no body', async () => {
    const broken = await request('POST', `${url}/auth/token`, {
      body: '{"username": "alice", "password": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(isProblem(broken, 400)).toBe(true);
    expect(isProblem(await login(url, 'alice:alice-pie-2026'), 400)).toBe(true);
    expect(isProblem(await login(url, ['alice', 'alice-pie-2026']), 400)).toBe(true);
    expect(isProblem(await request('POST', `${url}/auth/token`), 400)).toBe(true);
  });

  it('answers 415 for a body that is declared as something else than JSON', async () => {
    const form = await request('POST', `${url}/auth/token`, {
      body: 'username=alice&password=alice-pie-2026',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(isProblem(form, 415)).toBe(true);
  });

  it('takes as long to refuse as to accept (median durations, reported, not asserted)', async () => {
    const time = async (body: unknown, status: number) => {
      const durations: number[] = [];
      for (let i = 0; i < 9; i++) {
        const started = performance.now();
        expect((await login(url, body)).status).toBe(status);
        durations.push(performance.now() - started);
      }
      return median(durations).toFixed(1);
    };
    const success = await time({ username: 'bob', password: 'bob-pie-2026' }, 200);
    const wrongPassword = await time({ username: 'bob', password: 'alice-pie-2026' }, 401);
    const unknownUser = await time({ username: 'nobody', password: 'bob-pie-2026' }, 401);
    console.log(
      `login median durations (9 each): success ${success} ms, wrong password ${wrongPassword} ms, ` +
        `unknown user ${unknownUser} ms`,
    );
  });

  it('never logs a password or a token', async () => {
    const { body } = await login(url, { username: 'admin', password: 'admin-pie-2026' });
    await login(url, { username: 'alice-pie-2026', password: 'alice-pie-2026' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = logged.join('');
    expect(text).toContain('"msg":"login"');
    for (const secret of [...demoAccounts.map((a) => a.password), body.accessToken as string])
      expect(text).not.toContain(secret);
  });
});

describe('GET /.well-known/jwks.json', () => {
  let url = '';
  let close: () => Promise<unknown> = async () => {};
  beforeAll(async () => ({ url, close } = await start({})));
  afterAll(() => close());

  it('serves the public key only, under the kid the tokens name', async () => {
    const response = await request('GET', `${url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          x: expect.any(String),
          y: expect.any(String),
          kid: tokens.key.kid,
          alg: 'ES256',
          use: 'sig',
        },
      ],
    });
    expect(response.body.keys[0]).not.toHaveProperty('d');
  });
});

describe('brute force', () => {
  let now = Date.UTC(2026, 0, 1, 12);
  let url = '';
  let close: () => Promise<unknown> = async () => {};
  beforeAll(async () => ({ url, close } = await start({ attempts: 10, windowMs: 60_000, now: () => now })));
  afterAll(() => close());

  it('throttles a client after 10 failed logins a minute: 429 with Retry-After, even for the right password, until the minute is over', async () => {
    for (let i = 0; i < 10; i++) {
      expectUnauthorized(await login(url, { username: 'alice', password: `guess-${i}` }));
      now += 1_000;
    }
    const throttled = await login(url, { username: 'alice', password: 'guess-10' });
    expect(isProblem(throttled, 429)).toBe(true);
    expect(throttled.headers.get('retry-after')).toBe('50');
    expect(throttled.body.detail).toMatch(/too many failed logins .* try again in 50 s/);

    now += 20_000;
    const right = await login(url, { username: 'alice', password: 'alice-pie-2026' });
    expect(isProblem(right, 429)).toBe(true);
    expect(right.headers.get('retry-after')).toBe('30');

    now += 30_000;
    const after = await login(url, { username: 'alice', password: 'alice-pie-2026' });
    expect(after.status).toBe(200);
    expect(after.body.user).toEqual({ name: 'alice', role: 'customer' });
  });

  it('counts an attempt before its password is checked: 20 wrong ones sent at once get 10 answers of 401, the rest 429', async () => {
    const burst = await start({ attempts: 10, now: () => now });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => login(burst.url, { username: 'alice', password: `burst-${i}` })),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    } finally {
      await burst.close();
    }
  });

  it('counts only failures: a client that logs in right again and again is never throttled', async () => {
    const fresh = await start({ attempts: 2, now: () => now });
    try {
      for (let i = 0; i < 5; i++)
        expect((await login(fresh.url, { username: 'bob', password: 'bob-pie-2026' })).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });

  it('keeps a bounded number of clients, refusing new ones while full', async () => {
    const full = await start({ attempts: 10, maxClients: 0, now: () => now });
    try {
      const response = await login(full.url, { username: 'alice', password: 'alice-pie-2026' });
      expect(isProblem(response, 429)).toBe(true);
      expect(response.headers.get('retry-after')).toBe('60');
    } finally {
      await full.close();
    }
  });
});

describe('the client a failed login counts against', () => {
  it('is the IPv4 address, also when it comes mapped into IPv6 or through NAT64', () => {
    expect(clientKey('192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('::ffff:192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('0:0:0:0:0:ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(clientKey('::ffff:0:102:304')).toBe('1.2.3.4');
    expect(clientKey('64:ff9b::102:304')).toBe('1.2.3.4');
    expect(clientKey('64:ff9b::1.2.3.4')).toBe('1.2.3.4');
  });

  it('is the /64 of an IPv6 address, however it is written', () => {
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0DB8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::9')).toBe('2001:db8::/64');
    expect(clientKey('1::2:3:4:5:1.2.3.4')).toBe('1:0:2:3::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80::/64');
    expect(clientKey('::1')).toBe('::/64');
  });

  it('is the text itself when it is no address', () => {
    expect(clientKey('unknown')).toBe('unknown');
    expect(clientKey('1:2:3')).toBe('1:2:3');
  });

  const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
  const groups = (n: number) => fc.array(group, { minLength: n, maxLength: n });

  it('is the same for every address of one /64: rotating within it opens no new window', () => {
    fc.assert(
      fc.property(groups(4), groups(4), groups(4), (net, a, b) => {
        expect(clientKey([...net, ...a].join(':'))).toBe(clientKey([...net, ...b].join(':')));
      }),
    );
  });

  it('differs between two /64s', () => {
    fc.assert(
      fc.property(groups(4), groups(4), groups(4), (a, b, host) => {
        fc.pre(a.some((g, i) => Number.parseInt(g, 16) !== Number.parseInt(b[i] ?? '', 16)));
        expect(clientKey([...a, ...host].join(':'))).not.toBe(clientKey([...b, ...host].join(':')));
      }),
    );
  });
});
