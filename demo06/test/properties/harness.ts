/**
 * What the property tests share: a raw HTTP client (any method, path, header and body, and an answer that is
 * read whatever it holds), the checks every answer must pass, and readers of a service's whole state.
 */
import http from 'node:http';
import { expect } from 'vitest';

export interface Answer {
  request: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  json: any;
}

export interface Send {
  /** A JS value sent as JSON (with Content-Type: application/json unless `headers` says otherwise). */
  json?: unknown;
  /** Raw bytes; sent with exactly the headers given. */
  body?: string | Buffer;
  headers?: Record<string, string | undefined>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * Sends a request as given: the path is written to the wire unchanged (so it may hold broken escapes).
 * Rejects only when no answer arrives: the connection failed, was closed, or nothing came within 10 s.
 */
export async function send(base: string, method: string, path: string, options: Send = {}): Promise<Answer> {
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
  const headers: Record<string, string> = {};
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const request = `${method} ${path}`;
  try {
    return await once(base, method, path, headers, body, agent, request);
  } catch (err) {
    // A kept-alive socket the server had just closed while idle is no answer to this request: retry once on a
    // fresh connection (Node's advice for `reusedSocket`). A server that closes on this input fails again.
    if ((err as { reusedSocket?: boolean }).reusedSocket) {
      return once(base, method, path, headers, body, false, request);
    }
    throw err;
  }
}

function once(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  via: http.Agent | false,
  request: string,
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: via }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => reject(new Error(`${request}: the answer broke off: ${err.message}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ request, status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err) => {
      const failure = new Error(
        `${request}: no answer (${(err as NodeJS.ErrnoException).code ?? err.message})`,
      );
      Object.assign(failure, { reusedSocket: req.reusedSocket });
      reject(failure);
    });
    req.end(body);
  });
}

const show = (answer: Answer) => `${answer.request} → ${answer.status} ${answer.text.slice(0, 400)}`;

/** A 4xx problem+json (RFC 9457) whose `status` is the HTTP status and whose `detail` says something. */
export function expectProblem(answer: Answer, status?: number | number[]): void {
  const statuses = status === undefined ? undefined : [status].flat();
  const ok =
    (statuses ? statuses.includes(answer.status) : answer.status >= 400 && answer.status < 500) &&
    String(answer.headers['content-type']).startsWith('application/problem+json') &&
    typeof answer.json === 'object' &&
    answer.json !== null &&
    answer.json.status === answer.status &&
    typeof answer.json.title === 'string' &&
    typeof answer.json.type === 'string' &&
    typeof answer.json.detail === 'string' &&
    answer.json.detail.trim().length > 0;
  if (!ok) {
    throw new Error(`expected a ${statuses?.join('/') ?? '4xx'} problem+json, got ${show(answer)}`);
  }
}

/** No server error; an error answer is problem+json. */
export function expectNoServerError(answer: Answer): void {
  if (answer.status >= 500 || answer.status < 100) throw new Error(`server error: ${show(answer)}`);
  if (answer.status >= 400) expectProblem(answer);
}

/** A 400 for a body that failed validation: problem+json listing each problem with its path. */
export function expectValidationProblem(answer: Answer): void {
  expectProblem(answer, 400);
  const errors = answer.json.errors;
  const listed =
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every((e) => typeof e?.path === 'string' && typeof e?.message === 'string' && e.message !== '');
  if (!listed) throw new Error(`expected "errors": [{"path", "message"}, …], got ${show(answer)}`);
}

export function expectStatus(answer: Answer, status: number): void {
  if (answer.status !== status) throw new Error(`expected ${status}, got ${show(answer)}`);
}

/** The `rel="next"` target of a Link header, if there is one. */
export function nextLink(answer: Answer): string | undefined {
  const header = answer.headers.link;
  const links = Array.isArray(header) ? header.join(', ') : (header ?? '');
  return /<([^>]*)>\s*;\s*rel="?next"?/.exec(links)?.[1];
}

/**
 * A whole list, page after page: the largest page first, then each `Link: rel="next"` until there is none.
 * (A list that is not paginated answers everything at once, without a Link.)
 */
export async function readAll<T = any>(base: string, path: string): Promise<T[]> {
  const items: T[] = [];
  let target: string | undefined = `${path}?limit=100`;
  for (let page = 0; target !== undefined; page++) {
    if (page > 10_000) throw new Error(`${path}: more than 10 000 pages`);
    const answer = await send(base, 'GET', target);
    expectStatus(answer, 200);
    if (!Array.isArray(answer.json)) throw new Error(`${target}: not an array: ${show(answer)}`);
    items.push(...answer.json);
    const next = nextLink(answer);
    const url = next === undefined ? undefined : new URL(next, `${base}${path}`);
    target = url && `${url.pathname}${url.search}`;
  }
  return items;
}

/** Runs `action` and asserts that `read` gives the same state after it as before it. */
export async function unchanged<T>(read: () => Promise<unknown>, action: () => Promise<T>): Promise<T> {
  const before = await read();
  const result = await action();
  expect(await read()).toEqual(before);
  return result;
}
