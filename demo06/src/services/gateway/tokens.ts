import jwt from 'jsonwebtoken';
import { z } from 'zod';
// Type imports only from the stage: tools/bench runs this file with Node's type stripping, which erases them.
import type { SigningKey } from './keys.js';

export type Role = 'customer' | 'admin';

/** What a verified token says: who, with which role, and when it was issued and expires (seconds). */
export interface Claims {
  sub: string;
  role: Role;
  iat: number;
  exp: number;
}

export const ISSUER = 'pie-gateway';
export const AUDIENCE = 'pie-store';
export const TOKEN_TTL_SECONDS = 900;

/** Far above a token this gateway issues (~300 characters): a bigger one is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 4096;

/** A token that is refused; `reason` says why in words a person understands, and never repeats the token. */
export class TokenRefused extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRefused';
    this.reason = reason;
  }
}

const reasons = {
  tooLarge: 'the token is too large',
  malformed: 'the token is malformed',
  notOurs: 'the token is not signed by this gateway',
  expired: 'the token has expired',
  notYet: 'the token is not valid yet',
  audience: 'the token is not meant for this store',
  issuer: 'the token was not issued by this gateway',
  claims: 'the token does not carry the claims this gateway issues',
  noExpiry: 'the token has no expiry time',
} as const;

/** Three base64url parts; jws decodes leniently, so anything else is refused here first. */
const shape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Header members that name a key or a certificate: a verifier that follows them lets the sender pick the key
 * that checks its own signature. This gateway has one key, and refuses tokens that bring their own.
 */
const keyHeaders = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit'];

/** Exactly the claims `issue` writes; anything more (nbf, jti, a second audience) is not one of ours. */
const claimsSchema = z.strictObject({
  sub: z.string().min(1).max(64),
  role: z.enum(['customer', 'admin']),
  iss: z.literal(ISSUER),
  aud: z.literal(AUDIENCE),
  iat: z.number(),
  exp: z.number(),
});

/** jsonwebtoken's refusals, in words for the person holding the token. */
function reasonFor(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return reasons.expired;
  if (err instanceof jwt.NotBeforeError) return reasons.notYet;
  if (err instanceof jwt.JsonWebTokenError) {
    const message = err.message;
    if (message.startsWith('jwt audience invalid')) return reasons.audience;
    if (message.startsWith('jwt issuer invalid')) return reasons.issuer;
    if (message === 'iat required when maxAge is specified') return reasons.claims;
    if (message === 'jwt malformed' || message === 'invalid token') return reasons.malformed;
    if (message.startsWith('invalid') && message.endsWith('value')) return reasons.claims; // nbf, exp
    return reasons.notOurs; // invalid signature, invalid algorithm, signature required, key mismatch
  }
  // jws throws plain errors for a payload that is not JSON or a signature of the wrong length.
  return reasons.malformed;
}

/** Issues and verifies the gateway's access tokens: ES256 with one key, short-lived, nothing else accepted. */
export class Tokens {
  readonly key: SigningKey;
  private readonly now: () => number;

  constructor(key: SigningKey, now: () => number = Date.now) {
    this.key = key;
    this.now = now;
  }

  issue(user: { name: string; role: Role }): { accessToken: string; tokenType: 'Bearer'; expiresIn: 900 } {
    const accessToken = jwt.sign(
      { role: user.role, iat: Math.floor(this.now() / 1000) },
      this.key.privateKey,
      {
        algorithm: 'ES256',
        keyid: this.key.kid,
        issuer: ISSUER,
        audience: AUDIENCE,
        subject: user.name,
        expiresIn: TOKEN_TTL_SECONDS,
      },
    );
    return { accessToken, tokenType: 'Bearer', expiresIn: TOKEN_TTL_SECONDS };
  }

  /**
   * Tokens that verified, with their claims: a signature check costs ~65 µs of CPU and every request of a
   * logged-in user carries the same token. Keyed by the whole token, so only the very bytes that verified
   * are taken from here, and still only while they are within their expiry and maximum age. Bounded: the
   * oldest goes first.
   */
  private readonly verified = new Map<string, Claims>();
  static readonly maxVerified = 1000;

  /** The token's claims, or TokenRefused. */
  verify(token: string): Claims {
    const known = this.verified.get(token);
    if (known !== undefined) {
      const now = Math.floor(this.now() / 1000);
      if (now < known.exp && now - known.iat <= TOKEN_TTL_SECONDS) return known;
      this.verified.delete(token); // verified again below, and refused there, with the reason
    }
    const claims = this.check(token);
    if (this.verified.size >= Tokens.maxVerified)
      this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
    return claims;
  }

  /** Every check of a token, none skipped: its claims, or TokenRefused. */
  private check(token: string): Claims {
    if (typeof token !== 'string' || token.length === 0) throw new TokenRefused(reasons.malformed);
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenRefused(reasons.tooLarge);
    if (!shape.test(token)) throw new TokenRefused(reasons.malformed);

    // The header is looked at before any signature is checked: a token for another key costs no verify.
    let decoded: jwt.Jwt | null;
    try {
      decoded = jwt.decode(token, { complete: true });
    } catch {
      decoded = null;
    }
    const header: unknown = decoded?.header;
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      throw new TokenRefused(reasons.malformed);
    if (keyHeaders.some((name) => Object.hasOwn(header, name))) throw new TokenRefused(reasons.notOurs);
    const { alg, kid } = header as { alg?: unknown; kid?: unknown };
    if (alg !== 'ES256' || kid !== this.key.kid) throw new TokenRefused(reasons.notOurs);
    // A payload that is not a JSON object (a string, an array, null) holds no claims to check.
    const body: unknown = decoded?.payload;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new TokenRefused(reasons.claims);

    let payload: unknown;
    try {
      payload = jwt.verify(token, this.key.publicKey, {
        algorithms: ['ES256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        maxAge: '15m',
        clockTimestamp: Math.floor(this.now() / 1000),
      });
    } catch (err) {
      throw new TokenRefused(reasonFor(err));
    }

    if (!Object.hasOwn(payload as object, 'exp')) throw new TokenRefused(reasons.noExpiry);
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new TokenRefused(reasons.claims);
    const { sub, role, iat, exp } = claims.data;
    return { sub, role, iat, exp };
  }
}
