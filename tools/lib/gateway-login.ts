// Logging in at a stage's gateway (from demo06 on) as one of the README's demo users: the tools that act as
// people (the smoke checks, the browser test, the bench) use these, as a person would.

export const demoUsers = {
  alice: { password: 'alice-pie-2026', role: 'customer' },
  bob: { password: 'bob-pie-2026', role: 'customer' },
  admin: { password: 'admin-pie-2026', role: 'admin' },
} as const;
export type DemoUser = keyof typeof demoUsers;

/** A demo user's access token from the gateway's POST /auth/token. */
export async function gatewayToken(gatewayUrl: string, username: DemoUser): Promise<string> {
  const res = await fetch(new URL('/auth/token', gatewayUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: demoUsers[username].password }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as { accessToken?: unknown };
  if (res.status !== 200 || typeof body.accessToken !== 'string')
    throw new Error(`POST ${gatewayUrl}/auth/token as ${username}: HTTP ${res.status}`);
  return body.accessToken;
}
