#!/usr/bin/env node
// Writes dist/config/capstan-schema-validator.cjs: schema/capstan.schema.json compiled by ajv into
// standalone code, with the digest of the schema text it was made from (src/config/schema-validator.ts
// uses it only when that digest matches the schema it finds). Runs after tsc, in `npm run build`;
// `node scripts/build-schema-validator.mjs DIST` writes into another compiled tree (the benchmarks').
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import standaloneCode from 'ajv/dist/standalone/index.js';

const dist = process.argv[2]
  ? pathToFileURL(`${resolve(process.argv[2])}/`)
  : new URL('../dist/', import.meta.url);
const { schemaAjv, schemaDigest, SCHEMA_URL, PREBUILT_URL } = await import(
  new URL('config/schema-validator.js', dist).href
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
