import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiContentObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiParameters,
  type ZodOpenApiPathsObject,
  type ZodOpenApiRequestBodyObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { price } from './money.js';
import { defaultPageSize, maxPageSize, pageLimit } from './pagination.js';
import { idSegment, itemType } from './validation.js';

/**
 * What every service's OpenAPI 3.1 document is made of: the problem+json errors, the headers every answer
 * carries, paging, health. Each service describes its routes in its own openapi.ts with the zod schemas it
 * validates with, so changing a schema changes the document.
 */

export type OpenApiDocument = ReturnType<typeof createDocument>;

// ---------------------------------------------------------------------------------------------------------
// Errors (RFC 9457)

const problemMembers = {
  type: z.string().meta({ description: 'the kind of problem: `about:blank`, the status code says it all' }),
  title: z.string().meta({ description: "the status code's reason phrase", example: 'Not Found' }),
  status: z.int().min(400).max(599).meta({ description: 'the HTTP status code' }),
  detail: z.string().min(1).meta({ description: 'what went wrong, in a sentence fit to show a person' }),
};

export const problem = z.object(problemMembers).meta({
  id: 'Problem',
  description: 'RFC 9457 problem details: the one error shape of every service.',
});

const fieldError = z.object({
  path: z.string().meta({ description: 'the field, parameter or header, e.g. `year` or `items.0.quantity`' }),
  message: z.string(),
});

export const invalidProblem = z.object({ ...problemMembers, errors: z.array(fieldError).optional() }).meta({
  id: 'InvalidRequestProblem',
  description: 'A request that does not fit its schema; `errors` names every field at fault.',
});

export const dependencyProblem = z
  .object({
    ...problemMembers,
    dependency: z.string().meta({ description: 'the service that could not answer' }),
  })
  .meta({
    id: 'DependencyProblem',
    description: 'A service this one calls is down or too slow; nothing changed.',
  });

export const limitProblem = z
  .object({
    ...problemMembers,
    limit: z.int().positive().meta({ description: 'the bound that was reached' }),
  })
  .meta({
    id: 'LimitProblem',
    description: 'A store is at its bound (docs/API.md, "Limits"); nothing changed.',
  });

const shortItem = z
  .object({
    type: itemType,
    id: z.int().positive(),
    requested: z.int().positive(),
    available: z.int().min(0),
  })
  .meta({ id: 'ShortItem', description: 'An item with less stock than asked for.' });

export const shortProblem = z.object({ ...problemMembers, short: z.array(shortItem).min(1) }).meta({
  id: 'ShortProblem',
  description: 'Not enough stock for the items listed in `short`; nothing is reserved.',
});

// ---------------------------------------------------------------------------------------------------------
// Headers

const servedBy = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\/\S+$/)
  .meta({
    header: { id: 'X-Served-By' },
    description: 'The service and the instance that answered, `<service>/<instance-id>`: on every answer.',
    example: 'book-api/pi-1:8081',
  });

const requestId = z
  .string()
  .min(1)
  .meta({
    header: { id: 'X-Request-Id' },
    description:
      "The request's id: the `X-Request-Id` it came with, else a new one. Sent on with every call made for it.",
    example: '0b4c7a1e-2f3d-4c5b-9a8e-6d7f1e2c3b4a',
  });

const upstreamServedBy = z
  .string()
  .min(1)
  .optional()
  .meta({
    header: { id: 'X-Upstream-Served-By' },
    description:
      'The instances of other services that answered the calls made for this request, comma-separated.',
    example: 'number-api/pi-2:8084',
  });

const path = z.string().regex(/^\/api\/\S+$/);

export const location = path.meta({
  header: { id: 'Location' },
  description: 'The path of the resource.',
  example: '/api/books/11',
});

/** A Location that only some of the answers with this status carry. */
export const maybeLocation = path
  .optional()
  .meta({ description: 'The path of the resource, on some answers.' });

const link = z
  .string()
  .regex(/^<\/\S+>; rel="next"$/)
  .optional()
  .meta({
    header: { id: 'Link' },
    description: 'The next page (RFC 8288): present exactly when another page follows.',
    example: '</api/books?after=20&limit=20>; rel="next"',
  });

// ---------------------------------------------------------------------------------------------------------
// Responses

export interface Answer {
  description: string;
  /** An application/json body. */
  json?: z.ZodType;
  /** An application/problem+json body. */
  problem?: z.ZodType;
  /** Any other content (static files). */
  content?: ZodOpenApiContentObject;
  /** Headers besides the ones on every answer. */
  headers?: Record<string, z.ZodType>;
}

function response(answer: Answer, callsOthers: boolean): ZodOpenApiResponseObject {
  const content = answer.content ?? {
    ...(answer.json && { 'application/json': { schema: answer.json } }),
    ...(answer.problem && { 'application/problem+json': { schema: answer.problem } }),
  };
  return {
    description: answer.description,
    headers: z.object({
      'X-Served-By': servedBy,
      'X-Request-Id': requestId,
      ...(callsOthers && { 'X-Upstream-Served-By': upstreamServedBy }),
      ...answer.headers,
    }),
    ...(Object.keys(content).length > 0 && { content }),
  };
}

/** The answers any request may get before its route sees it, when it sends a body; registered once, by id. */
const bodyRefusals = {
  413: {
    id: 'ContentTooLarge',
    ...response({ description: 'The body is larger than 64 KiB.', problem }, false),
  },
  415: {
    id: 'UnsupportedMediaType',
    ...response({ description: 'The body is not declared as `application/json`.', problem }, false),
  },
};

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  requestParams?: ZodOpenApiParameters;
  requestBody?: ZodOpenApiRequestBodyObject;
  /** The operation calls other services: its answers may say which instances answered them. */
  callsOthers?: boolean;
  responses: Partial<Record<number, Answer>>;
}

/**
 * An operation whose answers all carry X-Served-By and X-Request-Id (and X-Upstream-Served-By if it calls
 * others). Any request may send a body, so any may be refused with a 413 or 415 before its route sees it.
 */
export function operation({ callsOthers = false, responses, ...rest }: Operation): ZodOpenApiOperationObject {
  const described = Object.entries(responses).flatMap(([status, answer]) =>
    answer ? [[status, response(answer, callsOthers)] as const] : [],
  );
  return { ...rest, responses: { ...Object.fromEntries(described), ...bodyRefusals } };
}

/** A 400 for a request that does not fit: malformed JSON, a bad parameter or field, an unknown one. */
export const invalid = (description: string): Answer => ({ description, problem: invalidProblem });

/** A JSON request body with its description. */
export const jsonBody = (schema: z.ZodType, description: string): ZodOpenApiRequestBodyObject => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
});

// ---------------------------------------------------------------------------------------------------------
// Parameters

/** The path parameter of a positive integer id. */
export const idParameter = (description: string) => idSegment.meta({ description, example: '1' });

/** A list's query: `limit` and `after`; `after` is the list's own key. */
export const pageParameters = (after: z.ZodType, description: string) =>
  z.object({
    limit: pageLimit
      .optional()
      .meta({ description: `Items per page, 1 to ${maxPageSize}; ${defaultPageSize} when absent.` }),
    after: after.optional().meta({ description }),
  });

/** The headers of a page of a list. */
export const pageHeaders = { Link: link };

// ---------------------------------------------------------------------------------------------------------
// What every service serves

const check = z
  .object({
    name: z
      .string()
      .meta({ description: 'what was checked: a dependency, the registry, the storefront build' }),
    status: z.enum(['up', 'down']),
    reason: z.string().optional().meta({ description: 'why it is down' }),
  })
  .meta({ id: 'Check' });

const readiness = z
  .object({
    status: z.enum(['up', 'down']),
    checks: z.array(check),
    reason: z.string().optional().meta({ description: 'every check that is down, with its reason' }),
  })
  .meta({ id: 'Readiness' });

const documentBody = z
  .looseObject({
    openapi: z.string().regex(/^3\.1\.\d+$/),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ description: 'An OpenAPI 3.1 document.' });

const serviceTag = {
  name: 'service',
  description:
    'What every service serves: health, metrics (the gateway: on its metrics port) and this document.',
};

function servicePaths(callsOthers: boolean, metricsApart: boolean): ZodOpenApiPathsObject {
  const paths: ZodOpenApiPathsObject = {
    '/health/live': {
      get: operation({
        operationId: 'live',
        summary: 'Liveness: the process runs',
        tags: [serviceTag.name],
        responses: {
          200: { description: 'The process runs.', json: z.object({ status: z.literal('up') }) },
        },
      }),
    },
    '/health/ready': {
      get: operation({
        operationId: 'ready',
        summary: 'Readiness: the service can serve',
        description:
          'Ready when everything it needs answers: the services it calls, the registry, its files.',
        tags: [serviceTag.name],
        callsOthers,
        responses: {
          200: { description: 'Every check is up.', json: readiness },
          503: { description: 'A check is down; `reason` says which and why.', json: readiness },
        },
      }),
    },
    '/metrics': {
      get: operation({
        operationId: 'metrics',
        summary: "This instance's metrics, for Prometheus",
        description:
          'The process (heap, event-loop lag, GC, memory), the requests it answered by route and status, its calls to other services by instance and outcome, and what its load balancers saw.',
        tags: [serviceTag.name],
        responses: {
          200: {
            description: "Prometheus's text exposition format.",
            content: { 'text/plain': { schema: { type: 'string' as const } } },
          },
        },
      }),
    },
    '/openapi.json': {
      get: operation({
        operationId: 'openapi',
        summary: "This service's OpenAPI document",
        tags: [serviceTag.name],
        responses: { 200: { description: 'This document.', json: documentBody } },
      }),
    },
  };
  if (metricsApart) delete paths['/metrics'];
  return paths;
}

/** The version of the store's contract: every stage serves the same one. */
export const contractVersion = '1.0.0';

const conventions = [
  '',
  'Errors are `application/problem+json` (RFC 9457); a failed request changes no state.',
  'Every answer carries `X-Served-By` and `X-Request-Id`. From outside, the services are reached through the gateway, which decides who may call what.',
  'A path or method this document does not list answers 404 (`x-unknown-route`).',
  'The conventions, the idempotency rules and the bounds: docs/API.md.',
].join('\n\n');

export interface ServiceDescription {
  service: string;
  summary: string;
  description: string;
  tags: { name: string; description: string }[];
  paths: ZodOpenApiPathsObject;
  /** The service calls other services (also to be ready). */
  callsOthers?: boolean;
  /** Its /metrics is on a port of its own (the gateway's: config.metricsPort), not on the one described here. */
  metricsApart?: boolean;
}

/** A service's whole document: its own paths, then health and this document. */
export function serviceDocument(spec: ServiceDescription): OpenApiDocument {
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: spec.service,
        version: contractVersion,
        summary: spec.summary,
        description: spec.description + conventions,
      },
      servers: [{ url: '/', description: 'the instance that served this document' }],
      security: [],
      tags: [...spec.tags, serviceTag],
      paths: { ...spec.paths, ...servicePaths(spec.callsOthers ?? false, spec.metricsApart ?? false) },
      // Not an operation, so written as plain OpenAPI: its parts are registered by the operations above.
      'x-unknown-route': {
        description: 'Any method and path not listed: no such route.',
        headers: {
          'X-Served-By': { $ref: '#/components/headers/X-Served-By' },
          'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' },
        },
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    },
    {
      // JSON Schema cannot say "at most two decimals" in a way every validator agrees on: say it in words.
      override: ({ zodSchema, jsonSchema }) => {
        if (zodSchema === price) jsonSchema.description = 'An amount with at most two decimals.';
      },
    },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Calling another service

type BodyOf<R> = R extends { content: infer C } ? C[keyof C] : null;

/**
 * What an operation of another service may answer, status by status, as its document says: `Op` is an
 * operation of the types generated from the callee's document (`<callee>.types.ts`). Answers of 500 and above
 * never reach a caller: its Dependency turns them into a 503.
 */
export type OperationReply<Op extends { responses: object }> = {
  [S in keyof Op['responses'] & number]: {
    status: S;
    body: BodyOf<Op['responses'][S]>;
    servedBy: string | null;
  };
}[keyof Op['responses'] & number];
