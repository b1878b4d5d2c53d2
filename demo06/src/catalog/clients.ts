import type { Dependency } from '../lib/dependency.js';
import type { OperationReply } from '../lib/openapi.js';
import { HttpProblem } from '../lib/problem.js';
import type { components, operations, paths } from './number-api.types.js';

/** number-api's answer to a take, as its document says. */
type Taken = OperationReply<operations['takeIsbn']> | OperationReply<operations['takeEan']>;
type Numbers = Partial<components['schemas']['Isbn'] & components['schemas']['Ean']>;

const takePaths = {
  isbn: '/api/numbers/isbn',
  ean: '/api/numbers/ean',
} as const satisfies Record<'isbn' | 'ean', keyof paths>;

/** Asks number-api for a fresh ISBN or EAN. */
export class NumberClient {
  private readonly numberApi: Dependency;

  constructor(numberApi: Dependency) {
    this.numberApi = numberApi;
  }

  async take(kind: 'isbn' | 'ean'): Promise<string> {
    const reply = (await this.numberApi.call('POST', takePaths[kind])) as Taken;
    const number = reply.status === 201 ? (reply.body as Numbers | null)?.[kind] : undefined;
    if (reply.status !== 201 || typeof number !== 'string') {
      throw new HttpProblem(503, `number-api answered ${reply.status} without an ${kind}`, {
        dependency: 'number-api',
      });
    }
    return number;
  }
}
