import { checkResponse } from './openapi.js';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A request as a client sends it; the body is parsed when there is one. Every answer is checked against the
 * OpenAPI document of the service that gave it: one the document does not describe throws.
 */
export async function request<T = any>(
  method: string,
  url: string,
  options: { json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const headers = {
    ...(options.json !== undefined && { 'content-type': 'application/json' }),
    ...options.headers,
  };
  const response = await fetch(url, {
    method,
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  await checkResponse({ method, url, status: response.status, headers: response.headers, text });
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Asserts nothing; returns whether a response is problem+json with the status and a detail. */
export function isProblem(response: JsonResponse, status: number): boolean {
  return (
    response.status === status &&
    response.headers.get('content-type')?.startsWith('application/problem+json') === true &&
    response.body?.status === status &&
    typeof response.body?.title === 'string' &&
    typeof response.body?.detail === 'string' &&
    response.body.detail.length > 0
  );
}
