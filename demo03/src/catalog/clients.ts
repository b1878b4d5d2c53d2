import type { Dependency } from '../lib/http-client.js';
import { HttpProblem } from '../lib/problem.js';

/** Asks number-api for a fresh ISBN or EAN. */
export class NumberClient {
  private readonly numberApi: Dependency;

  constructor(numberApi: Dependency) {
    this.numberApi = numberApi;
  }

  async take(kind: 'isbn' | 'ean'): Promise<string> {
    const reply = await this.numberApi.call<Record<string, unknown>>('POST', `/api/numbers/${kind}`);
    const number = reply.body?.[kind];
    if (reply.status !== 201 || typeof number !== 'string') {
      throw new HttpProblem(503, `number-api answered ${reply.status} without an ${kind}`, {
        dependency: 'number-api',
      });
    }
    return number;
  }
}
