/** The committed JSON Schema (what editors check inventories against) is the one the zod schema generates. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { run } from '../../lib/cli/main';
import { inventoryJsonSchema } from '../../lib/inventory/json-schema';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const STALE = 'schema/inventory.schema.json is out of date with lib/inventory/schema.ts: regenerate it with `npm run schema` and commit it';

describe('schema/inventory.schema.json', () => {
  it('equals the freshly generated inventoryJsonSchema()', () => {
    expect(JSON.parse(read('schema/inventory.schema.json')), STALE).toEqual(inventoryJsonSchema());
  });

  it('is byte for byte what `controlplane-backup schema` (npm run schema) prints', async () => {
    let out = '';
    const code = await run(['schema'], { out: (t) => { out += t; }, err: () => undefined, interactive: false });
    expect(code).toBe(0);
    expect(read('schema/inventory.schema.json'), STALE).toBe(out);
  });

  it('is draft 2020-12 with its own $id', () => {
    const schema = inventoryJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('https://controlplane-backup.io/schema/inventory-v1.json');
  });
});

describe('editors validate inventories against it', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(JSON.parse(read('schema/inventory.schema.json')));
  const errorsOf = (path: string) => (validate(parse(read(path))) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

  it('the example starts with the yaml-language-server header that points at the schema of the installed package', () => {
    // Relative to the inventory in the user's repository, beside its node_modules/ (test/e2e/package.test.ts checks it resolves there).
    expect(read('examples/inventory.yaml').split('\n')[0]).toBe('# yaml-language-server: $schema=./node_modules/controlplane-backup/schema/inventory.schema.json');
  });

  it('the example inventory is valid', () => {
    expect(errorsOf('examples/inventory.yaml')).toEqual([]);
  });

  it.each(readdirSync(join(ROOT, 'test/fixtures/valid')))('valid fixture %s is valid (no false squiggles in the editor)', (name) => {
    expect(errorsOf(`test/fixtures/valid/${name}`)).toEqual([]);
  });

  // What the JSON Schema can express, the editor flags before the CLI runs.
  it.each([
    ['unknown-key-suggestion', '/clusters/prod/backup must NOT have additional properties'],
    ['unknown-key-credential', '/storages/primary/s3 must NOT have additional properties'],
    ['api-version', '/apiVersion must be equal to constant'],
    ['wrong-type', '/clusters/prod/backup/snapshotTimeoutSeconds must be integer'],
    ['missing-required-key', "/storages/primary/s3 must have required property 'bucket'"],
    ['compression', '/clusters/prod/backup/compression must be equal to one of the allowed values'],
    ['number-too-large', '/clusters/prod/backup/activeDeadlineSeconds must be <= 86400'],
  ])('invalid fixture %s is flagged: %s', (name, expected) => {
    expect(errorsOf(`test/fixtures/invalid/${name}.yaml`)).toEqual([expected]);
  });
});
