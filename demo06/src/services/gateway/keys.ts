import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The key the gateway signs its tokens with (ES256), and the public half that verifies them. */
export interface SigningKey {
  /** First 16 hex characters of the SHA-256 of the public key's SPKI DER: the same key gives the same kid. */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Generated at start because no key file was given: tokens die with the process. */
  demo: boolean;
}

/** OpenSSL's name for P-256, the curve ES256 is defined on. */
const p256 = 'prime256v1';

function keyId(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex').slice(0, 16);
}

function describe(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} ${curve}` : String(key.asymmetricKeyType);
}

/**
 * The signing key from a PEM file (PKCS#8, or SEC1 "EC PRIVATE KEY"), or, with no file, a P-256 key generated now
 * and marked `demo`. Any other key is refused: ES256 with another curve or type would either fail at the first
 * login or, worse, sign with something the verifiers do not expect.
 */
export function loadSigningKey(file?: string): SigningKey {
  if (file === undefined || file === '') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: p256 });
    return { kid: keyId(publicKey), privateKey, publicKey, demo: true };
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the signing key file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(
      `the signing key file ${file} holds no unencrypted PEM private key: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== p256) {
    throw new Error(
      `the signing key in ${file} is ${describe(privateKey)}, not EC P-256 (prime256v1), the key ES256 needs`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: keyId(publicKey), privateKey, publicKey, demo: false };
}

/**
 * Makes sure `file` holds a signing key: writes a new P-256 key there (PKCS#8 PEM, readable by all, as Swarm mounts
 * a secret) when there is none, and keeps the one there once it loads. `written` says which.
 */
export function ensureSigningKeyFile(file: string): { kid: string; written: boolean } {
  let written = false;
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: p256 });
    try {
      // 'wx': of two makers at once, one writes and the other finds its key.
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o444 });
      written = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return { kid: loadSigningKey(file).kid, written };
}

/** The JSON Web Key Set a verifier fetches: the public key alone, never `d`. */
export function jwks(key: SigningKey): { keys: JsonWebKey[] } {
  const { kty, crv, x, y } = key.publicKey.export({ format: 'jwk' });
  return { keys: [{ kty, crv, x, y, kid: key.kid, alg: 'ES256', use: 'sig' }] };
}
