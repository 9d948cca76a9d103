import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import standaloneCode from 'ajv/dist/standalone/index.js';
import type { ValidateFunction } from 'ajv';
import { schemaAjv, schemaDigest, SCHEMA_URL } from '../../../src/config/schema-validator.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CONFIGS: unknown[] = [
  { app: 'shop', environments: { staging: { namespace: 'shop-staging' } } },
  { app: 'shop', environments: { staging: { namespace: 5 } } },
  { app: 'Shop_1', environments: {} },
  { environments: { production: { namespace: 'p', context: false, image: 5432 } } },
  { app: 'shop', environments: { staging: { namespace: 'x', unknown: true } }, deploy: { timeout: 'soon' } },
  { app: 'shop', environments: { staging: { namespace: 'x' } }, deploy: { concurrency: -1 } },
  'false',
  null,
];

describe('the prebuilt schema validator', () => {
  it('reports exactly what the schema compiled at run time reports', () => {
    const text = readFileSync(SCHEMA_URL, 'utf8');
    const built = schemaAjv({ source: true });
    const code = (standaloneCode as unknown as typeof standaloneCode.default).call(
      undefined,
      built,
      built.compile(JSON.parse(text) as object),
    );
    // Inside the checkout, so that the generated code's require('ajv/...') resolves as in dist/.
    mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
    const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'capstan-validator-'));
    try {
      const file = join(dir, 'validator.cjs');
      writeFileSync(file, code);
      const prebuilt = createRequire(import.meta.url)(file) as ValidateFunction;
      const compiled = schemaAjv().compile(JSON.parse(text) as object);
      for (const config of CONFIGS) {
        assert.equal(prebuilt(config), compiled(config), JSON.stringify(config));
        assert.deepEqual(prebuilt.errors ?? null, compiled.errors ?? null, JSON.stringify(config));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the schema text it was made from', () => {
    assert.equal(schemaDigest('a'), schemaDigest('a'));
    assert.notEqual(schemaDigest('{"type":"object"}'), schemaDigest('{"type":"object" }'));
  });
});
