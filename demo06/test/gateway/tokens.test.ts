import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSigningKeyFile, jwks, loadSigningKey } from '../../src/services/gateway/keys.js';
import {
  AUDIENCE,
  ISSUER,
  TOKEN_TTL_SECONDS,
  TokenRefused,
  Tokens,
} from '../../src/services/gateway/tokens.js';

const key = loadSigningKey();
const tokens = new Tokens(key);
const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const publicJwk = key.publicKey.export({ format: 'jwk' });

// Tokens are forged part by part with node:crypto, as an attacker would: nothing here goes through the code
// under test except `verify`.
const part = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

type Signer = (input: string) => string;
const es256 =
  (privateKey: KeyObject): Signer =>
  (input) =>
    sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
const hs256 =
  (secret: string): Signer =>
  (input) =>
    createHmac('sha256', secret).update(input).digest('base64url');
const unsigned: Signer = () => '';

function forge(header: Record<string, unknown>, payload: unknown, signer: Signer): string {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${signer(input)}`;
}

const nowS = () => Math.floor(Date.now() / 1000);
const claims = (overrides: Record<string, unknown> = {}) => {
  const iat = nowS();
  return { sub: 'alice', role: 'customer', iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 900, ...overrides };
};
const ours = { alg: 'ES256', typ: 'JWT', kid: key.kid };
const signedByUs = (payload: unknown, header: Record<string, unknown> = ours) =>
  forge(header, payload, es256(key.privateKey));

const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const attackerJwk = attacker.publicKey.export({ format: 'jwk' });

const reason = {
  malformed: 'the token is malformed',
  notOurs: 'the token is not signed by this gateway',
  tooLarge: 'the token is too large',
  expired: 'the token has expired',
  notYet: 'the token is not valid yet',
  audience: 'the token is not meant for this store',
  issuer: 'the token was not issued by this gateway',
  claims: 'the token does not carry the claims this gateway issues',
  noExpiry: 'the token has no expiry time',
};

function refusal(token: string): TokenRefused {
  try {
    tokens.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(TokenRefused);
    return err as TokenRefused;
  }
  throw new Error('verify accepted the token');
}

const [validHeader, validPayload, validSignature] = tokens
  .issue({ name: 'alice', role: 'customer' })
  .accessToken.split('.');

const attacks: { attack: string; token: () => string; because: string }[] = [
  ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({
    attack: `alg "${alg}" with an empty signature`,
    token: () => forge({ alg, typ: 'JWT', kid: key.kid }, claims({ role: 'admin' }), unsigned),
    because: reason.notOurs,
  })),
  {
    attack: 'a stripped signature (nothing after the second dot)',
    token: () => `${validHeader}.${validPayload}.`,
    because: reason.notOurs,
  },
  {
    attack: 'a "null" signature',
    token: () => `${validHeader}.${validPayload}.null`,
    because: reason.malformed,
  },
  {
    attack: 'a missing signature part (two parts)',
    token: () => `${validHeader}.${validPayload}`,
    because: reason.malformed,
  },
  {
    attack: 'HS256 signed with the public key in PEM form as the secret',
    token: () => forge({ alg: 'HS256', typ: 'JWT', kid: key.kid }, claims(), hs256(publicPem)),
    because: reason.notOurs,
  },
  {
    attack: 'HS256 signed with the public key in JWK form as the secret',
    token: () =>
      forge({ alg: 'HS256', typ: 'JWT', kid: key.kid }, claims(), hs256(JSON.stringify(publicJwk))),
    because: reason.notOurs,
  },
  {
    attack: 'an embedded jwk header naming the signer’s own key',
    token: () => forge({ ...ours, jwk: attackerJwk }, claims({ role: 'admin' }), es256(attacker.privateKey)),
    because: reason.notOurs,
  },
  {
    attack: 'a jku header pointing at the signer’s key set',
    token: () =>
      forge(
        { ...ours, jku: 'https://attacker.example/jwks.json' },
        claims({ role: 'admin' }),
        es256(attacker.privateKey),
      ),
    because: reason.notOurs,
  },
  {
    attack: 'an x5u header pointing at the signer’s certificate',
    token: () =>
      forge(
        { ...ours, x5u: 'https://attacker.example/cert.pem' },
        claims({ role: 'admin' }),
        es256(attacker.privateKey),
      ),
    because: reason.notOurs,
  },
  {
    attack: 'an x5c header carrying a certificate',
    token: () => forge({ ...ours, x5c: ['MIIB'] }, claims({ role: 'admin' }), es256(attacker.privateKey)),
    because: reason.notOurs,
  },
  {
    attack: 'a kid with a path traversal (../../etc/passwd), otherwise signed by the gateway’s key',
    token: () => signedByUs(claims(), { ...ours, kid: '../../etc/passwd' }),
    because: reason.notOurs,
  },
  {
    attack: 'a kid with a path traversal to /dev/null and HS256 with an empty secret',
    token: () => forge({ alg: 'HS256', typ: 'JWT', kid: '../../../../dev/null' }, claims(), hs256('')),
    because: reason.notOurs,
  },
  {
    attack: 'an unknown kid, otherwise signed by the gateway’s key',
    token: () => signedByUs(claims(), { ...ours, kid: 'ffffffffffffffff' }),
    because: reason.notOurs,
  },
  {
    attack: 'no kid, otherwise signed by the gateway’s key',
    token: () => signedByUs(claims(), { alg: 'ES256', typ: 'JWT' }),
    because: reason.notOurs,
  },
  {
    attack: 'an expired token',
    token: () => signedByUs(claims({ iat: nowS() - 1000, exp: nowS() - 100 })),
    because: reason.expired,
  },
  {
    attack: 'a token older than 15 minutes whose exp is still ahead',
    token: () => signedByUs(claims({ iat: nowS() - 1200, exp: nowS() + 3600 })),
    because: reason.expired,
  },
  {
    attack: 'nbf in the future',
    token: () => signedByUs(claims({ nbf: nowS() + 600 })),
    because: reason.notYet,
  },
  {
    attack: 'no exp',
    token: () => signedByUs(claims({ exp: undefined })),
    because: reason.noExpiry,
  },
  {
    attack: 'no iat',
    token: () => signedByUs(claims({ iat: undefined })),
    because: reason.claims,
  },
  {
    attack: 'the wrong audience',
    token: () => signedByUs(claims({ aud: 'another-store' })),
    because: reason.audience,
  },
  {
    attack: 'the wrong issuer',
    token: () => signedByUs(claims({ iss: 'another-gateway' })),
    because: reason.issuer,
  },
  {
    attack: 'a tampered payload (role changed to admin, signature kept)',
    token: () => {
      const payload = JSON.parse(Buffer.from(validPayload ?? '', 'base64url').toString()) as object;
      return `${validHeader}.${part({ ...payload, role: 'admin' })}.${validSignature}`;
    },
    because: reason.notOurs,
  },
  {
    attack: 'a payload that is a JSON string',
    token: () => signedByUs('"alice"'),
    because: reason.claims,
  },
  {
    attack: 'a payload that is a JSON array',
    token: () => signedByUs('[]'),
    because: reason.claims,
  },
  {
    attack: 'a payload that is JSON null',
    token: () => signedByUs('null'),
    because: reason.claims,
  },
  {
    attack: 'an unknown role',
    token: () => signedByUs(claims({ role: 'root' })),
    because: reason.claims,
  },
  {
    attack: 'an empty sub',
    token: () => signedByUs(claims({ sub: '' })),
    because: reason.claims,
  },
  {
    attack: 'an oversized token (> 4 KiB)',
    token: () => signedByUs(claims({ padding: 'x'.repeat(4096) })),
    because: reason.tooLarge,
  },
  {
    attack: 'garbage that is not base64url',
    token: () => '!!!.@@@.###',
    because: reason.malformed,
  },
  {
    attack: 'base64url parts that are not JSON',
    token: () => 'bm90IGpzb24.bm90IGpzb24.bm90IGpzb24',
    because: reason.malformed,
  },
  {
    attack: 'an empty string',
    token: () => '',
    because: reason.malformed,
  },
  {
    attack: 'a token signed by another ES256 key with the same kid',
    token: () => forge(ours, claims({ role: 'admin' }), es256(attacker.privateKey)),
    because: reason.notOurs,
  },
];

describe('verify refuses every attack of the checklist', () => {
  it.each(attacks)('$attack', ({ token, because }) => {
    const refused = refusal(token());
    expect(refused.reason).toBe(because);
    expect(refused.message).toBe(because);
  });

  const weakSecrets = ['secret', 'password', '123456', 'changeme', 'pie', '', 'jwt', 'key', 'pie-gateway'];
  it.each(weakSecrets.map((secret) => ({ secret })))(
    'HS256 signed with the weak secret "$secret"',
    ({ secret }) => {
      const token = forge(
        { alg: 'HS256', typ: 'JWT', kid: key.kid },
        claims({ role: 'admin' }),
        hs256(secret),
      );
      expect(refusal(token).reason).toBe(reason.notOurs);
    },
  );

  it('never repeats the token in its reason', () => {
    const token = signedByUs(claims({ aud: 'another-store' }));
    expect(refusal(token).reason).not.toContain(token.split('.')[1]);
  });
});

describe('a token the gateway issued', () => {
  it('verifies and gives the user’s name and role, for 15 minutes', () => {
    const issued = tokens.issue({ name: 'admin', role: 'admin' });
    expect(issued).toMatchObject({ tokenType: 'Bearer', expiresIn: TOKEN_TTL_SECONDS });
    const verified = tokens.verify(issued.accessToken);
    expect(verified).toEqual({
      sub: 'admin',
      role: 'admin',
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(verified.exp - verified.iat).toBe(900);
    const header = JSON.parse(Buffer.from(issued.accessToken.split('.')[0] ?? '', 'base64url').toString());
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: key.kid });
  });

  it('is accepted until its 900 s are over, then refused as expired', () => {
    let now = Date.UTC(2026, 0, 1, 12);
    const clocked = new Tokens(key, () => now);
    const { accessToken } = clocked.issue({ name: 'bob', role: 'customer' });
    now += 899_000;
    expect(clocked.verify(accessToken).sub).toBe('bob');
    now += 1_000;
    expect(() => clocked.verify(accessToken)).toThrow(new TokenRefused(reason.expired));
  });

  it('is refused by a gateway with another key', () => {
    const { accessToken } = tokens.issue({ name: 'alice', role: 'customer' });
    expect(() => new Tokens(loadSigningKey()).verify(accessToken)).toThrow(TokenRefused);
  });
});

describe('the JWKS', () => {
  it('holds the public key only, with its kid, alg and use', () => {
    const set = jwks(key);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: key.kid,
      alg: 'ES256',
      use: 'sig',
    });
    expect(set.keys[0]).not.toHaveProperty('d');
  });

  it('verifies a token the gateway issued, with an independent verifier', () => {
    const [jwk] = jwks(key).keys;
    const publicKey = createPublicKey({ key: jwk ?? {}, format: 'jwk' });
    const { accessToken } = tokens.issue({ name: 'alice', role: 'customer' });
    expect(
      jwt.verify(accessToken, publicKey, { algorithms: ['ES256'], audience: AUDIENCE, issuer: ISSUER }),
    ).toMatchObject({
      sub: 'alice',
      role: 'customer',
    });
  });
});

describe('the signing key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, pem: string | Buffer) => {
    const file = join(dir, name);
    writeFileSync(file, pem);
    return file;
  };

  it('is generated at start, and marked as a demo key, when no file is given', () => {
    expect(loadSigningKey(undefined)).toMatchObject({
      demo: true,
      kid: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('is read from a PKCS#8 or SEC1 PEM file; its kid is the SHA-256 of its public key', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    const kid = createHash('sha256').update(spki).digest('hex').slice(0, 16);
    const pkcs8 = write('pkcs8.pem', pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const sec1 = write('sec1.pem', pair.privateKey.export({ type: 'sec1', format: 'pem' }));
    for (const file of [pkcs8, sec1]) {
      const loaded = loadSigningKey(file);
      expect(loaded).toMatchObject({ kid, demo: false });
      const { accessToken } = new Tokens(loaded).issue({ name: 'alice', role: 'customer' });
      expect(jwt.verify(accessToken, pair.publicKey, { algorithms: ['ES256'] })).toMatchObject({
        sub: 'alice',
      });
    }
  });

  it.each([
    { kind: 'RSA', pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }), named: /rsa/ },
    {
      kind: 'EC P-384',
      pair: () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }),
      named: /secp384r1/,
    },
    { kind: 'Ed25519', pair: () => generateKeyPairSync('ed25519'), named: /ed25519/ },
  ])('refuses a $kind key, saying it is not EC P-256', ({ pair, named }) => {
    const file = write('other.pem', pair().privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadSigningKey(file)).toThrow(/not EC P-256/);
    expect(() => loadSigningKey(file)).toThrow(named);
  });

  it('is made once into a file when none is there (what compose runs before the gateway), and kept after', () => {
    const file = join(dir, 'made.pem');
    const made = ensureSigningKeyFile(file);
    expect(made).toMatchObject({ written: true, kid: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(statSync(file).mode & 0o777).toBe(0o444);
    expect(loadSigningKey(file)).toMatchObject({ kid: made.kid, demo: false });
    expect(ensureSigningKeyFile(file)).toEqual({ kid: made.kid, written: false });
    expect(() => ensureSigningKeyFile(write('public-only.pem', publicPem))).toThrow(
      /no unencrypted PEM private key/,
    );
  });

  it('refuses a file that holds no private key, and a file that is not there', () => {
    expect(() => loadSigningKey(write('public.pem', publicPem))).toThrow(/no unencrypted PEM private key/);
    expect(() => loadSigningKey(join(dir, 'missing.pem'))).toThrow(/cannot read the signing key file/);
  });
});
