// The services' OpenAPI documents (docs/openapi/): each committed copy is what the stages generate from their
// zod schemas, the same in every stage; each passes Redocly's recommended rules; and the types a caller is
// compiled against (a service's client of another) are generated from the callee's committed copy.
//
//   npm run openapi    rewrites the committed copies and the types (vitest --update on this file)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { type OpenAPI3 } from 'openapi-typescript';
import * as prettier from 'prettier';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureInstalled } from '../lib/stage-process.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';

const root = repoRoot();
const stages = existingStages(root);
const docs = join(root, 'docs/openapi');
const services = ['web', 'book-api', 'cd-api', 'dvd-api', 'number-api', 'inventory-api', 'shoppingcart-api'];

/** The types each caller is compiled against, in every stage: the file, and the callee whose document it is. */
const clientTypes = [
  { file: 'src/catalog/number-api.types.ts', callee: 'number-api' },
  { file: 'src/services/shoppingcart-api/book-api.types.ts', callee: 'book-api' },
  { file: 'src/services/shoppingcart-api/cd-api.types.ts', callee: 'cd-api' },
  { file: 'src/services/shoppingcart-api/dvd-api.types.ts', callee: 'dvd-api' },
  { file: 'src/services/shoppingcart-api/inventory-api.types.ts', callee: 'inventory-api' },
];

/** A document as the stage's zod-openapi makes it. */
type Document = OpenAPI3;
const generated = new Map<string, Map<string, Document>>();

beforeAll(async () => {
  for (const stage of stages) {
    // The documents are made by the stage's own code with its own zod: the stage must be installed.
    ensureInstalled(join(root, stage));
    const { openapiDocument } = (await import(pathToFileURL(join(root, stage, 'src/openapi.ts')).href)) as {
      openapiDocument: (service: string) => Promise<Document>;
    };
    const documents = await Promise.all(services.map(async (s) => [s, await openapiDocument(s)] as const));
    generated.set(stage, new Map(documents));
  }
}, 600_000);

/** Text as the repository keeps it: formatted by Prettier with the root's configuration. */
async function formatted(text: string, file: string): Promise<string> {
  return prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
}

const committed = (service: string) => join(docs, `${service}.json`);
const redocly = join(root, 'node_modules/@redocly/cli/bin/cli.js');

/** A document as the first stage generates it (when the committed copy is fresh, the committed copy). */
const documentOf = (service: string) => generated.get(stages[0] as string)?.get(service) as Document;

/**
 * Where a later stage's schema is not the first stage's or an extension of it. An extension keeps every property
 * (each itself unchanged or extended) and may add properties, required ones and enum values: what the gateway
 * stage does when it adds a service (one more document, one more service to scrape). Descriptions may be
 * rewritten; anything else must be equal.
 */
function extensionProblems(later: unknown, first: unknown, at: string): string[] {
  if (typeof first !== 'object' || first === null || Array.isArray(first))
    return JSON.stringify(later) === JSON.stringify(first)
      ? []
      : [`${at}: ${JSON.stringify(later)} instead of ${JSON.stringify(first)}`];
  if (typeof later !== 'object' || later === null || Array.isArray(later))
    return [`${at}: missing or not an object`];
  const was = first as Record<string, unknown>;
  const is = later as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of new Set([...Object.keys(was), ...Object.keys(is)])) {
    if (key === 'description') continue;
    const where = `${at}.${key}`;
    if (!(key in was)) problems.push(`${where}: added`);
    else if ((key === 'enum' || key === 'required') && Array.isArray(was[key])) {
      const values = new Set((is[key] as unknown[] | undefined) ?? []);
      for (const value of was[key] as unknown[])
        if (!values.has(value)) problems.push(`${where}: ${String(value)} dropped`);
    } else if (key === 'properties') {
      const props = (is[key] ?? {}) as Record<string, unknown>;
      for (const [name, schema] of Object.entries(was[key] as Record<string, unknown>))
        problems.push(...extensionProblems(props[name], schema, `${where}.${name}`));
    } else problems.push(...extensionProblems(is[key], was[key], where));
  }
  return problems;
}

describe.each(services)('the %s document', (service) => {
  it(`is docs/openapi/${service}.json, as ${stages[0]} generates it`, async () => {
    const text = await formatted(JSON.stringify(documentOf(service)), committed(service));
    await expect(text).toMatchFileSnapshot(committed(service));
  });

  // A later stage may add operations (monitoring's /metrics) and extend schemas, never change or drop one: the store's contract
  // is the same in every stage.
  it.each(stages.slice(1))('has every operation of the first stage, unchanged, in %s', (stage) => {
    const first = documentOf(service) as Record<string, any>;
    const later = generated.get(stage)?.get(service) as Record<string, any>;
    for (const [path, item] of Object.entries(first.paths)) expect(later.paths[path], path).toEqual(item);
    for (const [section, entries] of Object.entries<Record<string, unknown>>(first.components ?? {}))
      for (const [name, entry] of Object.entries(entries))
        expect(
          extensionProblems(later.components?.[section]?.[name], entry, `components.${section}.${name}`),
        ).toEqual([]);
    const tagNames = (document: Record<string, any>) =>
      document.tags.map((tag: { name: string }) => tag.name);
    expect(tagNames(later)).toEqual(expect.arrayContaining(tagNames(first)));
    // The rest is equal, but for the description of the whole, which tells how the stage is reached.
    const rest = (document: Record<string, any>) =>
      Object.fromEntries(
        Object.entries({ ...document, info: { ...document.info, description: undefined } }).filter(
          ([key]) => !['paths', 'components', 'tags'].includes(key),
        ),
      );
    expect(rest(later)).toEqual(rest(first));
  });

  it("passes Redocly's recommended rules with no warning", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), `${service}.json`);
    writeFileSync(file, JSON.stringify(documentOf(service), null, 2));
    const lint = spawnSync(
      process.execPath, // this Node, whatever `node` is first on the PATH
      [redocly, 'lint', file, '--config', join(docs, 'redocly.yaml'), '--format', 'json'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off' } },
    );
    const report = JSON.parse(lint.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(lint.status).toBe(0);
  });
});

describe.each(clientTypes)('$file', ({ file, callee }) => {
  it.each(stages)(`in %s is generated from docs/openapi/${callee}.json`, async (stage) => {
    const path = join(root, stage, file);
    const types = await openapiTS(structuredClone(documentOf(callee)), {
      commentHeader: `// The types of ${callee}'s OpenAPI document (docs/openapi/${callee}.json), generated by openapi-typescript\n// with \`npm run openapi\` at the root: change the document, not this file.\n\n`,
    });
    await expect(await formatted(types, path)).toMatchFileSnapshot(path);
  });
});
