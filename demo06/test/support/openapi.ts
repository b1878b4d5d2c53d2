/**
 * Checks an answer against the OpenAPI document of the service that gave it (named by its X-Served-By): the
 * status must be listed for the operation, every header the document lists must be there (when required) and
 * fit its schema, no header of the contract may appear where the document does not list it, and the body must
 * have a listed content type and fit its schema. An answer the document does not describe is an error.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, expect } from 'vitest';
import { type ServiceName, serviceNames } from '../../src/lib/config.js';
import { openapiDocument } from '../../src/openapi.js';

export interface Observed {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  /** The body as received ('' when there is none). */
  text: string;
}

type Json = Record<string, any>;

interface Checker {
  document: Json;
  ajv: Ajv2020;
  /** The headers the contract names (the document's header components), lower case. */
  contractHeaders: Set<string>;
  validators: WeakMap<object, ValidateFunction>;
}

const checkers = new Map<ServiceName, Checker>();

async function checker(service: ServiceName): Promise<Checker> {
  let found = checkers.get(service);
  if (found) return found;
  const base = `urn:openapi:${service}`;
  // The schemas as one JSON Schema (2020-12, the dialect of OpenAPI 3.1) that the others point into.
  const document = JSON.parse(
    JSON.stringify(await openapiDocument(service)).replaceAll('"#/components/schemas/', `"${base}#/$defs/`),
  ) as Json;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addKeyword('example'); // OpenAPI's annotation, not a JSON Schema keyword
  ajv.addSchema({ $id: base, $defs: document.components?.schemas ?? {} });
  found = {
    document,
    ajv,
    contractHeaders: new Set(Object.keys(document.components?.headers ?? {}).map((h) => h.toLowerCase())),
    validators: new WeakMap(),
  };
  checkers.set(service, found);
  return found;
}

/** Follows `$ref`s inside the document to the object they name. */
function deref(document: Json, value: Json | undefined): Json | undefined {
  let seen = 0;
  while (value && typeof value.$ref === 'string') {
    if (!value.$ref.startsWith('#/') || ++seen > 10) throw new Error(`cannot follow $ref ${value.$ref}`);
    value = value.$ref
      .slice(2)
      .split('/')
      .map((part: string) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((at: Json | undefined, part: string) => at?.[part], document);
  }
  return value;
}

/** The document's path for a request path: a literal one first, else the template with the most literal segments. */
function matchPath(paths: Json, pathname: string): string | undefined {
  if (paths[pathname]) return pathname;
  const segments = pathname.split('/');
  let best: { template: string; literal: number } | undefined;
  for (const template of Object.keys(paths)) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    let literal = 0;
    const fits = parts.every((part, i) => {
      if (/^\{[^}]+\}$/.test(part)) return (segments[i] ?? '') !== '';
      literal++;
      return part === segments[i];
    });
    if (fits && (!best || literal > best.literal)) best = { template, literal };
  }
  return best?.template;
}

function validate(c: Checker, schema: Json, value: unknown): string[] {
  let validator = c.validators.get(schema);
  if (!validator) {
    validator = c.ajv.compile(schema);
    c.validators.set(schema, validator);
  }
  if (validator(value)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`.trim());
}

/** Everything the service's document says is wrong with this answer; empty when it describes it. */
export async function problemsWith(observed: Observed): Promise<string[]> {
  const servedBy = observed.headers.get('x-served-by') ?? '';
  const service = servedBy.split('/', 1)[0] as ServiceName;
  if (!serviceNames.includes(service)) {
    return [`X-Served-By names no service of the stage (got "${servedBy}"): no document to check against`];
  }
  const c = await checker(service);
  const { document } = c;
  const { pathname } = new URL(observed.url);
  const template = matchPath(document.paths ?? {}, pathname);
  const operation: Json | undefined = template
    ? document.paths[template]?.[observed.method.toLowerCase()]
    : undefined;
  const where = operation
    ? `${observed.method} ${template}`
    : `x-unknown-route (${observed.method} ${pathname})`;
  const response = operation
    ? deref(document, operation.responses?.[String(observed.status)])
    : observed.status === 404
      ? deref(document, document['x-unknown-route'])
      : undefined;
  if (!response) return [`${where} lists no ${observed.status} answer`];

  const problems: string[] = [];
  const listed = new Set<string>();
  for (const [name, declared] of Object.entries<Json>(response.headers ?? {})) {
    const header = deref(document, declared) ?? {};
    listed.add(name.toLowerCase());
    const value = observed.headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`header ${name} is missing`);
    } else if (header.schema) {
      for (const error of validate(c, header.schema, value)) problems.push(`header ${name}: ${error}`);
    }
  }
  for (const name of c.contractHeaders) {
    if (!listed.has(name) && observed.headers.has(name)) problems.push(`header ${name} is not listed`);
  }

  const content: Json | undefined = response.content;
  if (!content) {
    if (observed.text !== '') problems.push('a body, where the document lists none');
    return problems;
  }
  const type = observed.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  const media: Json | undefined = content[type];
  if (!media) {
    problems.push(`content type "${type}" is not listed (listed: ${Object.keys(content).join(', ')})`);
  } else if (media.schema && /[/+]json$/.test(type)) {
    let body: unknown;
    try {
      body = JSON.parse(observed.text);
    } catch {
      return [...problems, 'the body is not JSON'];
    }
    for (const error of validate(c, media.schema, body)) problems.push(`body ${error}`);
  }
  return problems;
}

let checked = 0;
let unchecked = 0;

/**
 * Throws when the answer's document does not describe it. An answer without X-Served-By is not from a service
 * (every service sets it before anything else): a test's own server, a proxy with nothing behind it.
 */
export async function checkResponse(observed: Observed): Promise<void> {
  if (!observed.headers.has('x-served-by')) {
    unchecked++;
    return;
  }
  const problems = await problemsWith(observed);
  if (problems.length > 0) {
    const body = observed.text.length > 600 ? `${observed.text.slice(0, 600)}…` : observed.text;
    throw new Error(
      `${observed.method} ${observed.url} answered ${observed.status}, which its OpenAPI document does not describe:\n  ` +
        `${problems.join('\n  ')}\nbody: ${body}`,
    );
  }
  checked++;
}

// ---------------------------------------------------------------------------------------------------------
// How many answers were checked: one entry per test file in .test-output/<stage>/openapi-validated.json

const stageDir = fileURLToPath(new URL('../..', import.meta.url));
const stageName = (JSON.parse(readFileSync(join(stageDir, 'stage.json'), 'utf8')) as { stage: string }).stage;
const outputDir = join(stageDir, '..', '.test-output', stageName);
const output = join(outputDir, 'openapi-validated.json');

interface Tally {
  /** Answers checked against their document, in every file. */
  total: number;
  /** Per test file: answers checked, and answers not from a service (so not checked). */
  files: Record<string, { responses: number; notFromAService: number; at: string }>;
}

/** Runs `update` on the tally with the file locked: test files finish in parallel workers. */
function withTally(update: (tally: Tally) => void): void {
  mkdirSync(outputDir, { recursive: true });
  const lock = `${output}.lock`;
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) {
        rmSync(lock, { recursive: true, force: true }); // left by a worker that died holding it
        continue;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    let tally: Tally = { total: 0, files: {} };
    try {
      tally = JSON.parse(readFileSync(output, 'utf8')) as Tally;
    } catch {
      // first run, or a file from an older shape: start again
    }
    update(tally);
    tally.total = Object.values(tally.files).reduce((sum, f) => sum + f.responses, 0);
    writeFileSync(output, `${JSON.stringify(tally, null, 2)}\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// Registered once per test file: with vitest's isolation every file evaluates this module afresh.
afterAll(() => {
  const testPath = expect.getState().testPath;
  if (!testPath || checked + unchecked === 0) return;
  const file = relative(stageDir, testPath);
  const entry = { responses: checked, notFromAService: unchecked, at: new Date().toISOString() };
  withTally((tally) => {
    tally.files[file] = entry;
  });
});
