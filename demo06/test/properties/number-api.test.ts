import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidEan13 } from '../../src/lib/check-digit.js';
import * as arb from '../support/arbitraries.js';
import { startStage, type TestStage } from '../support/stage.js';
import { expectNoServerError, expectProblem, expectStatus, send } from './harness.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const numbers = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(stage.url['number-api'], method, `/api/numbers${path}`, options);
const kinds = ['isbn', 'ean'] as const;

/** Whether a segment names a kind once decoded (routes match without regard to case or a trailing slash). */
function namesAKind(segment: string): boolean {
  try {
    return (kinds as readonly string[]).includes(decodeURIComponent(segment).toLowerCase());
  } catch {
    return false;
  }
}

describe('number-api', () => {
  it('hands out a valid 13-digit number of each kind for every POST, never the same twice', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), async (kind) => {
        const answer = await numbers('POST', `/${kind}`);
        expectStatus(answer, 201);
        expect(Object.keys(answer.json)).toEqual([kind]);
        const number = answer.json[kind];
        expect(number).toMatch(kind === 'isbn' ? /^97[89]\d{10}$/ : /^\d{13}$/);
        expect(isValidEan13(number)).toBe(true);
        expect(seen.has(number)).toBe(false);
        seen.add(number);
      }),
      arb.runs(200),
    );
  });

  it('answers a 404 problem+json for every other kind, and for any other method', async () => {
    const target = fc.oneof(
      arb.anySegment.filter((s) => s !== '' && !namesAKind(s)).map((kind) => ['POST', `/${kind}`] as const),
      fc
        .tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'), fc.constantFrom(...kinds))
        .map(([method, kind]) => [method, `/${kind}`] as const),
    );
    await fc.assert(
      fc.asyncProperty(target, async ([method, path]) => {
        expectProblem(await numbers(method, path), 404);
      }),
      arb.runs(100),
    );
  });

  it('never answers any request with a 5xx or a closed connection', async () => {
    const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    const path = fc.oneof(
      fc.constantFrom(...kinds).map((kind) => `/${kind}`),
      arb.anySegment.map((segment) => `/${segment}`),
      fc.tuple(fc.constantFrom(...kinds), arb.anyQuery).map(([kind, query]) => `/${kind}?${query}`),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 2 }).map((json) => JSON.stringify(json)),
      arb.malformedJson,
    );
    await fc.assert(
      fc.asyncProperty(methods, path, body, arb.anyContentType, async (method, url, payload, type) => {
        const answer = await numbers(method, url, {
          body: payload,
          headers: { 'content-type': payload === undefined ? undefined : type },
        });
        if (method === 'HEAD') expect(answer.status).toBeLessThan(500);
        else expectNoServerError(answer);
      }),
      arb.runs(150),
    );
  });
});
