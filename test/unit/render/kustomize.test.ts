import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkKustomization,
  entryLine,
  kubectlKustomizeVersion,
  kustomizeErrorIssue,
  parseKustomization,
  parseVersion,
  type Kustomization,
} from '../../../src/render/kustomization.js';
import { kustomizationFileIn, listPhaseFiles } from '../../../src/render/phases.js';
import type { Issue } from '../../../src/shared/index.js';

const DIR = '/app/.deploy/staging/30-deployment';
const FILE = `${DIR}/kustomization.yaml`;

const BOUTIQUE = [
  '# Copyright 2022 Google LLC',
  'apiVersion: kustomize.config.k8s.io/v1beta1',
  'kind: Kustomization',
  'resources:',
  ' - adservice.yaml',
  ' - frontend.yaml',
  '# - loadgenerator.yaml # left out',
  ' - ./redis.v2.yaml',
  'patches:',
  '- path: patches/replicas-5432.yaml',
  'labels:',
  '- pairs:',
  '    tier: "false"',
  '',
].join('\n');

function kustomization(text = BOUTIQUE): Kustomization {
  const issues: Issue[] = [];
  const k = parseKustomization(FILE, DIR, text, issues);
  assert.deepEqual(issues, []);
  return k;
}

function withTree(files: Record<string, string>, test: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'capstan-kustomize-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    test(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('kustomization roots in a phase', () => {
  it('knows the three names kustomize reads, and refuses two at once', () => {
    assert.deepEqual(kustomizationFileIn(['web.yaml', 'kustomization.yaml']), { name: 'kustomization.yaml' });
    assert.deepEqual(kustomizationFileIn(['kustomization.yml']), { name: 'kustomization.yml' });
    assert.deepEqual(kustomizationFileIn(['Kustomization', 'a.yaml']), { name: 'Kustomization' });
    assert.deepEqual(kustomizationFileIn(['kustomization.yaml', 'Kustomization']), {
      several: ['kustomization.yaml', 'Kustomization'],
    });
    assert.deepEqual(kustomizationFileIn(['kustomize.yaml', 'web.yaml']), {});
  });

  it('a phase folder holding a kustomization is that kustomization only: its YAML is not read again', () => {
    withTree(
      {
        'kustomization.yaml': 'resources: [web.yaml]\n',
        'web.yaml': 'kind: Deployment\n',
        'loadgenerator.yaml': 'kind: Deployment\n',
        'base/kustomization.yaml': 'resources: []\n',
        'README.md': '# notes',
      },
      (root) => {
        const issues: Issue[] = [];
        assert.deepEqual(listPhaseFiles(root, issues), [
          { path: join(root, 'kustomization.yaml'), kind: 'kustomization' },
        ]);
        assert.deepEqual(issues, []);
      },
    );
  });

  it('a template or secrets file beside a kustomization is reported, not silently dropped', () => {
    withTree({ Kustomization: 'resources: []\n', 'db.v2.yaml.ejs': 'x', 'secrets.ejson': '{}' }, (root) => {
      const issues: Issue[] = [];
      assert.equal(listPhaseFiles(root, issues).length, 1);
      assert.deepEqual(
        issues.map((i) => i.file),
        [join(root, 'db.v2.yaml.ejs'), join(root, 'secrets.ejson')],
      );
      assert.match(issues[0].message, /built by kustomize \(Kustomization\)/);
    });
  });

  it('subfolders holding a kustomization are built beside the plain files; other folders are reported', () => {
    withTree(
      {
        'web.yaml': 'kind: Service\n',
        'shop.front-end/kustomization.yml': 'resources: [a.yaml]\n',
        'shop.front-end/a.yaml': 'kind: Deployment\n',
        'notes/b.yaml': 'kind: ConfigMap\n',
        '.cache/kustomization.yaml': 'resources: []\n',
      },
      (root) => {
        const issues: Issue[] = [];
        assert.deepEqual(listPhaseFiles(root, issues), [
          { path: join(root, 'shop.front-end/kustomization.yml'), kind: 'kustomization' },
          { path: join(root, 'web.yaml'), kind: 'yaml' },
        ]);
        assert.deepEqual(
          issues.map((i) => [i.file, i.message]),
          [
            [
              join(root, 'notes'),
              'folders inside a phase are not read, unless they hold a kustomization.yaml',
            ],
          ],
        );
      },
    );
  });

  it('two kustomization files in a phase folder: one issue, and neither read as plain YAML', () => {
    withTree({ 'kustomization.yaml': 'resources: []\n', 'kustomization.yml': 'resources: []\n' }, (root) => {
      const issues: Issue[] = [];
      assert.deepEqual(listPhaseFiles(root, issues), []);
      assert.equal(issues.length, 1);
      assert.match(issues[0].message, /kustomization.yaml and kustomization.yml: kustomize reads only one/);
    });
  });
});

describe('kustomize versions', () => {
  it('reads what kustomize and kubectl print', () => {
    assert.deepEqual(parseVersion('v5.4.2\n'), { major: 5, minor: 4, patch: 2 });
    assert.deepEqual(parseVersion('{Version:kustomize/v4.5.7 GitCommit:56d82a8 BuildDate:2022-08-02}'), {
      major: 4,
      minor: 5,
      patch: 7,
    });
    assert.equal(parseVersion('(devel)'), undefined);
    const kubectl = (body: object) => JSON.stringify(body);
    assert.deepEqual(
      kubectlKustomizeVersion(kubectl({ clientVersion: { minor: '36' }, kustomizeVersion: 'v5.8.1' })),
      { major: 5, minor: 8, patch: 1 },
    );
    assert.deepEqual(kubectlKustomizeVersion(kubectl({ clientVersion: { minor: '21' } })), {
      major: 4,
      minor: 0,
      patch: 5,
    });
    assert.deepEqual(kubectlKustomizeVersion(kubectl({ clientVersion: { minor: '18+' } })), {
      major: 2,
      minor: 0,
      patch: 3,
    });
    assert.equal(kubectlKustomizeVersion(kubectl({ clientVersion: { minor: '13' } })), null);
    assert.equal(kubectlKustomizeVersion('not json'), undefined);
  });

  it('a field newer than the tool is refused at its line; helmCharts always', () => {
    const k = kustomization(`${BOUTIQUE}helmCharts:\n- name: podinfo\n`);
    const old = checkKustomization(k, 'kubectl (kubectl kustomize)', parseVersion('v4.0.5'));
    assert.deepEqual(
      old.map((i) => [i.line, i.path]),
      [
        [11, 'labels'],
        [14, 'helmCharts'],
      ],
    );
    assert.match(
      old[0].message,
      /labels needs kustomize v4.1.0 or later; kubectl \(kubectl kustomize\) has v4.0.5/,
    );
    assert.deepEqual(checkKustomization(kustomization(), 'kustomize', parseVersion('v5.8.1')), []);
    // A version it does not print is not refused: kustomize itself says what it cannot read.
    assert.deepEqual(checkKustomization(kustomization(), 'kustomize', undefined), []);
  });
});

describe('kustomize errors mapped to the kustomization', () => {
  it('finds the line that lists a file', () => {
    const k = kustomization();
    assert.equal(entryLine(k, 'adservice.yaml'), 5);
    assert.equal(entryLine(k, 'redis.v2.yaml'), 8);
    assert.equal(entryLine(k, 'loadgenerator.yaml'), undefined);
    assert.equal(entryLine(k, 'patches/replicas-5432.yaml'), 10);
  });

  it('a missing resource: its line, named once', () => {
    const stderr = `error: accumulating resources: accumulation err='accumulating resources from 'frontend.yaml': evalsymlink failure on '${DIR}/frontend.yaml' : lstat ${DIR}/frontend.yaml: no such file or directory': must build at directory: not a valid directory: evalsymlink failure on '${DIR}/frontend.yaml' : lstat ${DIR}/frontend.yaml: no such file or directory\n`;
    assert.deepEqual(kustomizeErrorIssue(stderr, kustomization()), {
      file: FILE,
      line: 6,
      message: 'accumulating resources: frontend.yaml: no such file or directory',
    });
  });

  it('a missing patch file, as a kubectl that logs its errors prints it', () => {
    const stderr = `E1207 17:56:48.239570    3241 run.go:72] "command failed" err="trouble configuring builtin PatchTransformer with config: \`\\npath: patches/replicas-5432.yaml\\n\`: failed to get the patch file from path(patches/replicas-5432.yaml): evalsymlink failure on '${DIR}/patches/replicas-5432.yaml' : lstat ${DIR}/patches/replicas-5432.yaml: no such file or directory"\n`;
    const issue = kustomizeErrorIssue(stderr, kustomization());
    assert.equal(issue.line, 10);
    assert.equal(
      issue.message,
      'trouble configuring builtin PatchTransformer with config: patches/replicas-5432.yaml: no such file or directory',
    );
  });

  it('an unknown field at its key; a YAML error in a listed file at that file and line', () => {
    const k = kustomization('resource:\n- web.yaml\n');
    assert.deepEqual(
      kustomizeErrorIssue('error: invalid Kustomization: json: unknown field "resource"\n', k),
      {
        file: FILE,
        line: 1,
        path: 'resource',
        message: 'invalid Kustomization: json: unknown field "resource"',
      },
    );
    const inFile = kustomizeErrorIssue(
      "error: accumulating resources: accumulating resources from 'adservice.yaml': MalformedYAMLError: yaml: line 4: did not find expected key in File: adservice.yaml\n",
      kustomization(),
    );
    assert.deepEqual(inFile, {
      file: `${DIR}/adservice.yaml`,
      line: 4,
      message: 'YAML syntax error: did not find expected key (listed at kustomization.yaml:5)',
    });
  });

  it('a message naming nothing of the file still names the file', () => {
    assert.deepEqual(kustomizeErrorIssue('Error: something else went wrong\n', kustomization()), {
      file: FILE,
      message: 'something else went wrong',
    });
  });

  it('a YAML syntax error in the kustomization itself is reported with its line and column', () => {
    const issues: Issue[] = [];
    parseKustomization(FILE, DIR, 'resources:\n- web.yaml\n  bad: [\n', issues);
    assert.ok(issues.length > 0);
    assert.equal(issues[0].file, FILE);
    assert.equal(typeof issues[0].line, 'number');
    assert.match(issues[0].message, /^YAML syntax error: /);
  });
});
