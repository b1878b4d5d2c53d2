import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidEan13 } from '../../src/lib/check-digit.js';
import { request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

describe('number-api', () => {
  it.each([
    ['isbn', /^978\d{10}$/],
    ['ean', /^\d{13}$/],
  ])('POST /api/numbers/%s gives a valid 13-digit number, never the same twice', async (kind, shape) => {
    const numbers = await Promise.all(
      Array.from({ length: 50 }, () => request('POST', `${stage.url['number-api']}/api/numbers/${kind}`)),
    );
    for (const response of numbers) {
      expect(response.status).toBe(201);
      expect(response.body[kind]).toMatch(shape);
      expect(isValidEan13(response.body[kind])).toBe(true);
    }
    expect(new Set(numbers.map((r) => r.body[kind])).size).toBe(50);
  });
});
