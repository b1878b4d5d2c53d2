/**
 * Who is logged in, in this tab: the gateway's token and the user its log-in answer named, kept in
 * sessionStorage (gone with the tab; never localStorage, which every tab and every later visit would share).
 * The page reads the token's payload for one thing only, its `exp`, to say "your session expired" on time; what
 * a user may do is decided by the gateway, which verifies the signature, never by what the page believes.
 */
import type { Role, TokenResponse, User } from './types.js';
import { ROLES } from './types.js';

const STORAGE_KEY = 'pie-store.session';

export const EXPIRED_MESSAGE = 'your session expired, please log in again';

/** Why a session ended: the person logged out, its token expired, or the gateway refused its token. */
export type SessionEnd = 'logged-out' | 'expired' | 'refused';

/** The largest delay setTimeout keeps (about 24.8 days); a longer one fires at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

interface Stored {
  accessToken: string;
  user: User;
}

export class SessionState {
  private stored: Stored | null = null;
  /** When the token expires (its `exp`), in ms since the epoch. */
  private expiresAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `onChange` runs after every log-in and every end, with the reason of an end. */
  constructor(private readonly onChange: (ended?: SessionEnd) => void) {}

  get user(): User | null {
    return this.stored?.user ?? null;
  }

  /** The session an earlier page of this tab left, if any; one that has expired since ends (and says so). */
  restore(): void {
    const stored = readStored();
    if (!stored) return;
    const expiresAt = expiryOf(stored.accessToken);
    if (expiresAt !== null && Date.now() >= expiresAt) {
      writeStored(null);
      this.onChange('expired');
      return;
    }
    this.begin(stored, expiresAt);
  }

  /** A log-in answer from the gateway: from now on every request carries its token. */
  start(answer: TokenResponse): void {
    const expiresAt = expiryOf(answer.accessToken) ?? Date.now() + answer.expiresIn * 1000;
    const stored = { accessToken: answer.accessToken, user: answer.user };
    writeStored(stored);
    this.begin(stored, expiresAt);
  }

  /**
   * The token to send: null when nobody is logged in, or 'expired' when the token has just run out (the
   * session ends first, so the page shows the log-in form again).
   */
  token(): string | 'expired' | null {
    if (!this.stored) return null;
    if (Date.now() < this.expiresAt) return this.stored.accessToken;
    this.end('expired');
    return 'expired';
  }

  /**
   * The gateway answered 401 to a request that carried `token`: the session of that token ends (unless another
   * has begun since). Answers whether the token had expired by then.
   */
  refused(token: string): boolean {
    const expired = Date.now() >= this.expiresAt;
    if (this.stored?.accessToken === token) this.end(expired ? 'expired' : 'refused');
    return expired;
  }

  logOut(): void {
    if (this.stored) this.end('logged-out');
  }

  private begin(stored: Stored, expiresAt: number | null): void {
    clearTimeout(this.timer);
    this.stored = stored;
    // A token without a readable `exp` is sent as it is; the gateway's 401 will end it.
    this.expiresAt = expiresAt ?? Number.POSITIVE_INFINITY;
    const delay = this.expiresAt - Date.now();
    if (delay <= MAX_DELAY_MS) {
      this.timer = setTimeout(() => {
        if (this.stored === stored) this.end('expired');
      }, delay);
    }
    this.onChange();
  }

  private end(reason: SessionEnd): void {
    clearTimeout(this.timer);
    this.stored = null;
    writeStored(null);
    this.onChange(reason);
  }
}

/** The token's `exp` in ms, or null when its payload (base64url JSON, the middle part) cannot be read. */
function expiryOf(token: string): number | null {
  try {
    const part = token.split('.')[1] ?? '';
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) =>
      c.charCodeAt(0),
    );
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function isRole(value: unknown): value is Role {
  return ROLES.includes(value as Role);
}

function readStored(): Stored | null {
  try {
    const raw = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Stored> | null;
    const user = raw?.user;
    if (typeof raw?.accessToken !== 'string' || typeof user?.name !== 'string' || !isRole(user.role)) {
      return null;
    }
    return { accessToken: raw.accessToken, user: { name: user.name, role: user.role } };
  } catch {
    return null; // storage disabled or not ours: nobody is logged in
  }
}

function writeStored(stored: Stored | null): void {
  try {
    if (stored === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

/** Whether a log-in answer has the shape the wire contract gives it; anything else is not used. */
export function isTokenResponse(body: unknown): body is TokenResponse {
  const answer = body as Partial<TokenResponse> | null;
  return (
    typeof answer?.accessToken === 'string' &&
    answer.accessToken !== '' &&
    answer.tokenType === 'Bearer' &&
    typeof answer.expiresIn === 'number' &&
    answer.expiresIn > 0 &&
    typeof answer.user?.name === 'string' &&
    isRole(answer.user.role)
  );
}
