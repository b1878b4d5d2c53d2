// Every stage's docker-compose.yml is a valid Compose Specification file (tools/schemas/compose-spec.json, see
// tools/schemas/README.md), and every service in it has a healthcheck and a memory limit (DESIGN.md §6, §9).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const schema = JSON.parse(readFileSync(join(root, 'tools/schemas/compose-spec.json'), 'utf8')) as object;
const ajv = new Ajv({ strict: false, allErrors: true });
// The schema names its meta-schema https://json-schema.org/draft-07/schema; Ajv knows draft-07 by its old id.
const draft07 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json') as object;
ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
const validate = ajv.compile(schema);

const composeFiles = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && /^demo\d+$/.test(entry.name))
  .map((entry) => join(entry.name, 'docker-compose.yml'))
  .filter((file) => existsSync(join(root, file)))
  .sort();

interface Service {
  healthcheck?: { test?: unknown; disable?: boolean };
  mem_limit?: string | number;
  restart?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
}

/** The file as Compose reads it: YAML 1.1 merge keys (`<<: *service`) resolved, and no YAML errors. */
function load(file: string): { services?: Record<string, Service> } {
  const doc = parseDocument(readFileSync(join(root, file), 'utf8'), { merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS() as { services?: Record<string, Service> };
}

describe('compose files', () => {
  it('exist for at least one stage', () => {
    expect(composeFiles).not.toEqual([]);
  });

  describe.each(composeFiles)('%s', (file) => {
    const compose = load(file);
    const services = Object.entries(compose.services ?? {});

    it('validates against the Compose Specification schema', () => {
      const valid = validate(compose);
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
      expect(valid).toBe(true);
    });

    it('has no `version:` key (obsolete in the Compose Specification)', () => {
      expect(compose).not.toHaveProperty('version');
    });

    it('has services', () => {
      expect(services.length).toBeGreaterThan(0);
    });

    it.each(services.map(([name, service]) => ({ name, service })))(
      'service $name has a healthcheck (unless it runs once: restart no) and a memory limit',
      ({ service }) => {
        const memory = service.deploy?.resources?.limits?.memory ?? service.mem_limit;
        expect(memory, 'deploy.resources.limits.memory (or mem_limit)').toBeDefined();
        // A one-shot service (a key maker, say) is done when it exits with 0: there is no health to check.
        if (service.restart === 'no') return;
        const test = service.healthcheck?.test;
        expect(service.healthcheck?.disable ?? false, 'healthcheck disabled').toBe(false);
        expect(
          Array.isArray(test)
            ? test[0] !== 'NONE' && test.length > 1
            : typeof test === 'string' && test !== '',
        ).toBe(true);
      },
    );
  });
});
