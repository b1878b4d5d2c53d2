import { demoAccounts } from '../../src/services/gateway/users.js';

/** An answer through the gateway, as a client sees it. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * A request to the gateway. Not checked against a document: an answer the gateway forwards is the service's (its
 * own tests check it against its document), and the gateway's own refusals are problem+json, asserted here.
 */
export async function through(
  gateway: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      ...(options.json !== undefined && { 'content-type': 'application/json' }),
      ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body };
}

/** A demo user's token, from POST /auth/token. */
export async function tokenOf(gateway: string, username: string): Promise<string> {
  const account = demoAccounts.find((a) => a.name === username);
  if (account === undefined) throw new Error(`no demo user ${username}`);
  const answer = await through(gateway, 'POST', '/auth/token', {
    json: { username, password: account.password },
  });
  if (answer.status !== 200)
    throw new Error(`login as ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.accessToken as string;
}

/** Whether an answer is a problem+json of this status from the gateway itself (no service behind it answered). */
export const refusedByGateway = (answer: Answer, status: number): boolean =>
  answer.status === status &&
  answer.headers.get('content-type')?.startsWith('application/problem+json') === true &&
  answer.headers.get('x-served-by')?.startsWith('gateway/') === true &&
  answer.headers.get('x-upstream-served-by') === null &&
  typeof answer.body?.detail === 'string';
