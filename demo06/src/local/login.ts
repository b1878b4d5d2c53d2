/**
 * Logging in as a demo user, for the tools that act as people (`npm run traffic`): a token from the gateway's
 * POST /auth/token, fetched again before it expires. The demo users are the README's.
 */
export const demoUsers = {
  customer: { username: 'alice', password: 'alice-pie-2026' },
  admin: { username: 'admin', password: 'admin-pie-2026' },
} as const;
export type DemoRole = keyof typeof demoUsers;

/** Tokens live 15 minutes: one older than this is replaced. */
const renewAfterMs = 10 * 60_000;

export class Logins {
  private readonly tokenUrl: string;
  private readonly tokens = new Map<DemoRole, { header: string; at: number }>();

  constructor(tokenUrl: string) {
    this.tokenUrl = tokenUrl;
  }

  /** The Authorization header of a demo user with this role. */
  async authorization(role: DemoRole): Promise<string> {
    const known = this.tokens.get(role);
    if (known !== undefined && Date.now() - known.at < renewAfterMs) return known.header;
    const response = await fetch(this.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(demoUsers[role]),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { accessToken?: unknown; detail?: unknown };
    if (!response.ok || typeof body.accessToken !== 'string')
      throw new Error(
        `logging in as ${demoUsers[role].username} answered ${response.status} ${String(body.detail ?? '')}`,
      );
    const header = `Bearer ${body.accessToken}`;
    this.tokens.set(role, { header, at: Date.now() });
    return header;
  }
}
