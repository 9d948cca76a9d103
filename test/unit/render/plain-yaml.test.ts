import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import { stringify } from 'yaml';
import { readPlainYaml } from '../../../src/render/plain-yaml.js';
import { parseYamlStream } from '../../../src/render/yaml-documents.js';

/** What the yaml library reads, as Capstan reads a plain YAML file with it, or 'error'. */
function yamlLibrary(text: string): unknown[] | 'error' {
  const { documents, problems } = parseYamlStream(text);
  return problems.length > 0 ? 'error' : documents.map((d) => d.value);
}

/** The fast reader agrees with the yaml library, or leaves the text to it. Returns whether it read it. */
function agrees(text: string): boolean {
  const fast = readPlainYaml(text);
  if (fast === undefined) return false;
  const reference = yamlLibrary(text);
  assert.notEqual(
    reference,
    'error',
    `the fast reader accepted what the yaml library refuses: ${JSON.stringify(text)}`,
  );
  // Empty documents: the yaml library has no contents where js-yaml has null; both are skipped.
  const present = (values: unknown[]) => values.filter((v) => v !== null && v !== undefined);
  assert.deepEqual(present(fast), present(reference as unknown[]), JSON.stringify(text));
  return true;
}

/** Broken or not: what the yaml library refuses, the fast reader leaves to it; the rest agrees. */
function agreesOrDeclines(text: string): void {
  if (yamlLibrary(text) === 'error') assert.equal(readPlainYaml(text), undefined, JSON.stringify(text));
  else agrees(text);
}

// Characters that mean something in YAML, beside ordinary ones.
const tricky = fc.string({
  unit: fc.constantFrom(...'ab:#-?&*!|>\'"%@`{}[],~ \n\t\\0123456789.eE+_xo'.split('')),
  maxLength: 12,
});
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  tricky,
  fc.constantFrom('', 'null', 'true', 'yes', '0o17', '1e3'),
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(text, tie('node'), { maxKeys: 4 }),
  ),
})).node;

const writers: ReadonlyArray<(v: unknown) => string> = [
  (v) => stringify(v),
  (v) => stringify(v, { lineWidth: 20, minContentWidth: 5 }),
  (v) => stringify(v, { collectionStyle: 'flow' }),
  (v) => stringify(v, { defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN' }),
  (v) => stringify(v, { blockQuote: 'folded', lineWidth: 30 }),
  (v) => dump(v, { noRefs: true }),
  (v) => dump(v, { noRefs: true, flowLevel: 1, lineWidth: 20 }),
];

describe('the fast YAML reader', () => {
  it('reads what the yaml library writes, and js-yaml writes, to the values the yaml library reads', () => {
    let read = 0;
    let runs = 0;
    fc.assert(
      fc.property(value, fc.nat(writers.length - 1), (v, w) => {
        runs++;
        if (agrees(writers[w](v))) read++;
      }),
      { numRuns: 3000 },
    );
    // Not a test that passes by declining everything.
    assert.ok(read > runs / 3, `read ${read} of ${runs}`);
  });

  it('reads streams of several documents, empty ones and comments among them', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 4 }), fc.nat(writers.length - 1), (values, w) => {
        agrees(values.map((v) => writers[w](v)).join('---\n# between\n'));
        agrees(values.map((v) => `---\n${writers[w](v)}...\n`).join(''));
      }),
      { numRuns: 500 },
    );
  });

  it('resolves every plain scalar as the core schema does', () => {
    const scalars = [
      ...[
        '~',
        'null',
        'Null',
        'NULL',
        'nULL',
        'true',
        'True',
        'TRUE',
        'tRUE',
        'false',
        'yes',
        'no',
        'on',
        'off',
      ],
      ...[
        'y',
        'n',
        '0',
        '-0',
        '+0',
        '007',
        '08',
        '1_000',
        '0b101',
        '0o17',
        '0o8',
        '-0o17',
        '0x1F',
        '0X1F',
        '-0x1F',
      ],
      ...['0x', '0o', '.5', '5.', '-.5', '+1.5e3', '1e3', '1E-3', '1e', '.e3', '12e03', '1__0', '0xFF_FF'],
      ...[
        '.inf',
        '-.inf',
        '+.inf',
        '.Inf',
        '.INF',
        '.nan',
        '.NaN',
        '.NAN',
        '-.nan',
        'nan',
        'inf',
        'Infinity',
      ],
      ...['9007199254740993', '123456789012345678901234567890', '2001-12-14', '2001-12-14t21:59:43.10-05:00'],
      ...['12:30:45', '1:20', '=', '<<', 'a b', ' a', 'a #b', '5432', 'false ', '0.10', '1.0', '3.14159'],
    ];
    for (const s of scalars) {
      agrees(`v: ${s}\n`);
      agrees(`- ${s}\n`);
      agrees(`[${s}]\n`);
      agrees(`${s}: v\n`);
    }
  });

  it('leaves to the yaml library what the two read differently or only it checks', () => {
    const left = [
      '~: a\n',
      'null: a\n',
      ': a\n',
      '? [a, b]\n: 1\n',
      '[a, b]: 1\n',
      '{a: 1}: 1\n',
      'a: &x {k: 1}\nb: *x\n',
      'a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n',
      'a: !!float 1\n',
      'a: !!binary aGk=\n',
      'a: !local x\n',
      '%YAML 1.1\n---\na: yes\n',
      `${'k'.repeat(1100)}: v\n`,
      // Found by review: a byte-order mark after the start, text on a marker's line, a lone
      // carriage return, an out-of-range \U escape.
      'a: 1\n...\n\uFEFFb: 2\n',
      '\uFEFF%YAML 1.1\n---\na: yes\n',
      '---x\n',
      '---a: 1\n',
      'a: b\r',
      '"\\U00110000"\n',
      // A list or map, or a quoted scalar, going on to the next line.
      'command: [sh,\n  -c]\n',
      "it's: 'multi\nline' # don't\n",
      'a: "x\\"\ny\\"z"\n',
      // Second review: a keep-chomped scalar before a last line of spaces; brackets in quotes.
      'a: |+\n  x\n  ',
      'x:\n  y: [a, "b]c",\n  "d[e"]\n',
      'x:\n  y: {\'a"]\':"b\n  c[" } # "\n',
    ];
    for (const s of left) assert.equal(readPlainYaml(s), undefined, JSON.stringify(s));
  });

  it('never accepts what the yaml library refuses', () => {
    const broken = [
      'a:\n\tb: 1\n',
      'a: "unclosed\n',
      'a: b: c\n',
      'a: 1\na: 2\n',
      'a:\n  b: 1\n c: 2\n',
      '- a\nb: 1\n',
      '[1, 2\n',
      '{a: 1\n',
      '"a" x\n',
      'a: [1, 2]]\n',
      "'a\n",
      'a: 1\n  b: 2\n',
      // Found by review: what js-yaml lets pass.
      '--- a: 1\n',
      'a: 1\n... x\n',
      'a: [1,\n2]\n',
      'a: {b: 1,\nc: 2}\n',
      '  list: [\n    a, b,\n  c\n  ]',
      'a: "x\\"\ny\\"z"\n',
    ];
    for (const s of broken) {
      assert.equal(yamlLibrary(s), 'error', `the yaml library reads ${JSON.stringify(s)}`);
      assert.equal(readPlainYaml(s), undefined, JSON.stringify(s));
    }
    // Random edits of valid YAML: whatever the yaml library refuses, the fast reader leaves to it.
    fc.assert(
      fc.property(
        value,
        fc.nat(writers.length - 1),
        fc.nat(),
        fc.string({ maxLength: 3 }),
        (v, w, at, insert) => {
          const valid = writers[w](v);
          const cut = valid.length === 0 ? 0 : at % valid.length;
          const edited = valid.slice(0, cut) + insert + valid.slice(cut + 1);
          agreesOrDeclines(edited);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees on manifests with the typos people make: indentation, lost or doubled lines and characters', () => {
    const seeds = [
      'examples/demo-app/.deploy/production/30-deployment/web.service.yaml',
      'examples/demo-app/.deploy/staging/30-deployment/worker.pdb.yaml',
      'test/cluster/kwok-stages.yaml',
      'test/cluster/restricted-rbac.yaml',
    ].map((file) => readFileSync(file, 'utf8'));
    // A multi-line flow list and a script: where review found js-yaml letting a shifted `]` pass.
    seeds.push(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web, labels: {app: web}}',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: web',
        '          command: [',
        '            sh, -c,',
        '            "exec web --port 8080"',
        '          ]',
        '          args:',
        '            - |-',
        '              if [ -n "$X" ]; then',
        '                echo "x"',
        '              fi',
        '',
      ].join('\n'),
    );
    // The example app's manifests take the fast reader (the other two hold go templates and apostrophes).
    for (const seed of seeds.slice(0, 2)) assert.ok(agrees(seed), 'a plain manifest takes the fast reader');
    const marks = fc.string({ maxLength: 2, unit: fc.constantFrom(...' :-#\'"[]{},|>&*!%@`'.split('')) });
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.nat(),
        fc.nat(5),
        fc.nat(),
        marks,
        (seed, n, edit, at, insert) => {
          const lines = seed.split('\n');
          const i = n % lines.length;
          const line = lines[i];
          const c = line.length === 0 ? 0 : at % line.length;
          if (edit === 0) lines[i] = ' ' + line;
          else if (edit === 1) lines[i] = line.replace(/^ /, '');
          else if (edit === 2) lines.splice(i, 1);
          else if (edit === 3) lines[i] = line.slice(0, c) + insert + line.slice(c);
          else if (edit === 4) lines[i] = line.slice(0, c) + line.slice(c + 1);
          else lines.splice(i, 0, line);
          const edited = lines.join('\n');
          agreesOrDeclines(edited);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('gives the same lines and offsets when positions are asked for later', () => {
    const text = [
      '# leading comment',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: first',
      'data:',
      '  password: "false"',
      '---',
      '---',
      '# only a comment',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: second',
      '  labels: {app: web, tier: "5432"}',
      '',
    ].join('\n');
    const eager = parseYamlStream(text);
    const lazy = parseYamlStream(text, { lines: 'lazy' });
    assert.equal(lazy.documents.length, 2);
    assert.deepEqual(
      lazy.documents.map((d) => d.value),
      eager.documents.map((d) => d.value),
    );
    for (const [i, doc] of lazy.documents.entries()) {
      const reference = eager.documents[i];
      assert.equal(doc.line, reference.line);
      for (const path of [
        [],
        ['metadata'],
        ['metadata', 'name'],
        ['metadata', 'labels', 'tier'],
        ['data', 'password'],
      ])
        assert.deepEqual(
          [doc.lineOf(path), doc.offsetOf(path)],
          [reference.lineOf(path), reference.offsetOf(path)],
        );
    }
    assert.equal(lazy.documents[1].lineOf(['metadata', 'name']), 16);
  });

  it("reports syntax errors with the yaml library's line and column, lazy or not", () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: 1\n';
    assert.deepEqual(parseYamlStream(text, { lines: 'lazy' }), parseYamlStream(text));
    assert.ok(parseYamlStream(text).problems.length > 0);
  });
});

describe('YAML aliases the yaml library cannot resolve', () => {
  it('are syntax problems with a line, not a thrown error', () => {
    const unresolved = parseYamlStream('kind: ConfigMap\ndata:\n  a: *missing\n');
    assert.equal(unresolved.documents.length, 0);
    assert.equal(unresolved.problems[0]?.line, 3);
    assert.match(unresolved.problems[0].message, /Unresolved alias/);
    const row = (name: string, of: string) => `${name}: &${name} [${Array(10).fill(`*${of}`).join(', ')}]`;
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      row('b', 'a'),
      row('c', 'b'),
      row('d', 'c'),
      '',
    ].join('\n');
    const exploded = parseYamlStream(bomb, { lines: 'lazy' });
    assert.equal(exploded.documents.length, 0);
    assert.match(exploded.problems[0].message, /alias count/);
  });
});
