import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';
import type { Role } from './tokens.js';

export interface User {
  name: string;
  role: Role;
}

export interface Account extends User {
  password: string;
}

/** The workshop's users, printed in the README: the passwords are known, only their hashes are kept. */
export const demoAccounts: readonly Account[] = [
  { name: 'alice', password: 'alice-pie-2026', role: 'customer' },
  { name: 'bob', password: 'bob-pie-2026', role: 'customer' },
  { name: 'admin', password: 'admin-pie-2026', role: 'admin' },
];

export const MAX_NAME_LENGTH = 64;
export const MAX_PASSWORD_LENGTH = 256;

/**
 * The work of scrypt's usual interactive cost (N = 2^14, r = 8, p = 1: tens of ms per login) in a quarter of its
 * memory: N = 2^12 with p = 4 is the same number of operations over 4 MiB instead of 16, which a gateway in a
 * 128M container can afford. One hash at a time, so that a burst of logins queues rather than multiplies it.
 */
const cost: ScryptOptions = { N: 4096, r: 8, p: 4, maxmem: 16 * 1024 * 1024 };
const hashLength = 32;

let previous: Promise<unknown> = Promise.resolve();
function hash(password: string, salt: Buffer): Promise<Buffer> {
  const next = previous.then(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password, salt, hashLength, cost, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
  previous = next.catch(() => undefined);
  return next;
}

interface Stored {
  user: User;
  salt: Buffer;
  hash: Buffer;
}

export interface Users {
  /**
   * The user whose name and password these are, or undefined. Takes as long either way: an unknown name is
   * checked against a dummy hash, so the time of a refusal does not tell whether the name exists.
   */
  authenticate(name: string, password: string): Promise<User | undefined>;
}

/** The users, each password hashed now with its own random salt; the passwords themselves are not kept. */
export async function createUsers(accounts: readonly Account[] = demoAccounts): Promise<Users> {
  const stored = new Map<string, Stored>();
  await Promise.all(
    accounts.map(async ({ name, password, role }) => {
      const salt = randomBytes(16);
      stored.set(name, { user: { name, role }, salt, hash: await hash(password, salt) });
    }),
  );
  const dummySalt = randomBytes(16);
  const dummy: Stored = {
    user: { name: '', role: 'customer' },
    salt: dummySalt,
    hash: await hash(randomBytes(32).toString('hex'), dummySalt),
  };

  return {
    async authenticate(name, password) {
      // The login schema bounds both; past the bounds the name is unknown and the password is cut.
      const known = name.length <= MAX_NAME_LENGTH ? stored.get(name) : undefined;
      const entry = known ?? dummy;
      const computed = await hash(password.slice(0, MAX_PASSWORD_LENGTH), entry.salt);
      const equal = timingSafeEqual(computed, entry.hash);
      return equal && known !== undefined ? { ...known.user } : undefined;
    },
  };
}
