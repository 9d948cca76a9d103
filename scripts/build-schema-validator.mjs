#!/usr/bin/env node
// Writes dist/config/capstan-schema-validator.cjs: schema/capstan.schema.json compiled by ajv into
// standalone code, with the digest of the schema text it was made from (src/config/schema-validator.ts
// uses it only when that digest matches the schema it finds). Runs after tsc, in `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = new URL('..', import.meta.url);
const { schemaAjv, schemaDigest, SCHEMA_URL, PREBUILT_URL } = await import(
  new URL('dist/config/schema-validator.js', root).href
);
const text = readFileSync(SCHEMA_URL, 'utf8');
const ajv = schemaAjv({ source: true });
const validate = ajv.compile(JSON.parse(text));
const code = (standaloneCode.default ?? standaloneCode)(ajv, validate);
writeFileSync(
  PREBUILT_URL,
  `${code}\nmodule.exports.schemaDigest = ${JSON.stringify(schemaDigest(text))};\n`,
);
console.log(`wrote ${fileURLToPath(PREBUILT_URL)}`);
