// The validator of schema/capstan.schema.json. Compiling the schema with ajv takes 150-400 ms,
// paid by every command; `npm run build` writes it as standalone code instead
// (scripts/build-schema-validator.mjs), which loads in a few milliseconds. The prebuilt file says
// which schema text it was made from: when that is not the schema found next to it (a checkout
// run from its sources, a schema edited since the build), the schema is compiled as before.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export const SCHEMA_URL = new URL('../../schema/capstan.schema.json', import.meta.url);
/** Where the build puts the standalone validator, next to the compiled config modules. */
export const PREBUILT_URL = new URL('../config/capstan-schema-validator.cjs', import.meta.url);

/** The ajv instance the schema is compiled with, here and by the build. */
export function schemaAjv(options: { source?: boolean } = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, code: { source: !!options.source } });
  // Understood by VS Code and yaml-language-server; for us, an annotation read from parentSchema.
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  return ajv;
}

export function schemaDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let validator: ValidateFunction | undefined;

export function schemaValidator(): ValidateFunction {
  if (validator) return validator;
  const text = readFileSync(SCHEMA_URL, 'utf8');
  const digest = schemaDigest(text);
  if (existsSync(PREBUILT_URL)) {
    const prebuilt = createRequire(import.meta.url)(fileURLToPath(PREBUILT_URL)) as ValidateFunction & {
      schemaDigest?: string;
    };
    if (prebuilt.schemaDigest === digest) return (validator = prebuilt);
  }
  return (validator = schemaAjv().compile(JSON.parse(text) as object));
}

export const HELM_CHART_SCHEMA_URL = new URL('../../schema/helm-chart.schema.json', import.meta.url);

let helmChartValidator: ValidateFunction | undefined;

/** The validator of schema/helm-chart.schema.json, compiled the first time a `*.helm.yaml` is read. */
export function helmChartSchemaValidator(): ValidateFunction {
  return (helmChartValidator ??= schemaAjv().compile(
    JSON.parse(readFileSync(HELM_CHART_SCHEMA_URL, 'utf8')) as object,
  ));
}
