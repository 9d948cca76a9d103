import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { phasesForEvent } from '../../../src/deploy/helm-hooks-step.js';
import {
  helmTemplateArgs,
  parseHelmOutput,
  parseHelmVersion,
  releaseNameOf,
} from '../../../src/render/helm-chart.js';
import { hookDeletePolicies, splitHelmHooks } from '../../../src/render/helm-hooks.js';
import type { RenderedPhase } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

function object(kind: string, name: string, annotations?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name, ...(annotations ? { annotations } : {}) } };
}

const names = (items: readonly KubeObject[]) => items.map((o) => o.metadata.name);

describe('splitHelmHooks', () => {
  it('puts before-hooks and after-hooks in groups by ascending weight, and leaves out tests, delete and rollback hooks', () => {
    const items = [
      object('Deployment', 'web'),
      object('Job', 'db.migrate', { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '5' }),
      object('ConfigMap', 'migrate-config', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-5' }),
      object('Job', 'warm-cache', { 'helm.sh/hook': 'pre-upgrade' }),
      object('Job', 'notify', { 'helm.sh/hook': 'post-install, post-upgrade' }),
      object('Pod', 'web-test', { 'helm.sh/hook': 'test' }),
      object('Pod', 'web-test-success', { 'helm.sh/hook': 'test-success' }),
      object('Job', 'cleanup', { 'helm.sh/hook': 'pre-delete' }),
      object('Job', 'undo', { 'helm.sh/hook': 'post-rollback' }),
      object('CustomResourceDefinition', 'widgets.example.com'),
    ];
    const split = splitHelmHooks(items, (o) => o);
    assert.deepEqual(
      split.before.map((g) => [g.weight, names(g.items)]),
      [
        [-5, ['migrate-config']],
        [0, ['warm-cache']],
        [5, ['db.migrate']],
      ],
    );
    assert.deepEqual(names(split.main), ['web', 'widgets.example.com']);
    assert.deepEqual(
      split.after.map((g) => [g.weight, names(g.items)]),
      [[0, ['notify']]],
    );
    assert.deepEqual(names(split.skipped), ['web-test', 'web-test-success', 'cleanup', 'undo']);
    assert.deepEqual(split.refused, []);
  });

  it('refuses a hook that runs both before and after, and a weight that is not an integer', () => {
    const both = object('Job', 'both', { 'helm.sh/hook': 'pre-install,post-upgrade' });
    const odd = object('Job', 'odd', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': 'false' });
    const split = splitHelmHooks([both, odd], (o) => o);
    assert.deepEqual(
      split.refused.map((r) => [r.item.metadata.name, r.message]),
      [
        [
          'both',
          `helm.sh/hook "pre-install,post-upgrade" runs both before and after the chart's objects; Capstan runs a hook object in one place only`,
        ],
        ['odd', 'helm.sh/hook-weight must be an integer, not "false"'],
      ],
    );
  });

  it("reads the delete policy, Helm's default being before-hook-creation", () => {
    assert.deepEqual(hookDeletePolicies(object('Job', 'a')), ['before-hook-creation']);
    assert.deepEqual(
      hookDeletePolicies(object('Job', 'a', { 'helm.sh/hook-delete-policy': 'hook-succeeded, hook-failed' })),
      ['hook-succeeded', 'hook-failed'],
    );
  });
});

describe('phasesForEvent', () => {
  const phase = (name: string, objects: KubeObject[]): RenderedPhase => ({
    name,
    order: 30,
    dir: '/d',
    objects: objects.map((o) => ({ object: o, source: { file: '/d/podinfo.helm.yaml' } })),
    secretFiles: [],
  });
  const phases = [
    phase('30-web.podinfo.pre-hooks.-5', [object('Job', 'install-only', { 'helm.sh/hook': 'pre-install' })]),
    phase('30-web.podinfo.pre-hooks.0', [
      object('Job', 'both', { 'helm.sh/hook': 'pre-install,pre-upgrade' }),
      object('Job', 'upgrade-only', { 'helm.sh/hook': 'pre-upgrade' }),
    ]),
    phase('30-web', [object('Deployment', 'podinfo')]),
    phase('40-empty', []),
  ];
  const shape = (list: RenderedPhase[]) => list.map((p) => [p.name, names(p.objects.map((o) => o.object))]);

  it('keeps install hooks on a first deploy, upgrade hooks later, and drops hook phases left empty', () => {
    assert.deepEqual(shape(phasesForEvent(phases, 'install')), [
      ['30-web.podinfo.pre-hooks.-5', ['install-only']],
      ['30-web.podinfo.pre-hooks.0', ['both']],
      ['30-web', ['podinfo']],
      ['40-empty', []],
    ]);
    assert.deepEqual(shape(phasesForEvent(phases, 'upgrade')), [
      ['30-web.podinfo.pre-hooks.0', ['both', 'upgrade-only']],
      ['30-web', ['podinfo']],
      ['40-empty', []],
    ]);
  });
});

describe('helm template', () => {
  it('takes the release name from the file name', () => {
    assert.equal(releaseNameOf('/d/30-web/podinfo.helm.yaml'), 'podinfo');
    assert.equal(releaseNameOf('/d/30-web/shop.api.helm.yml.ejs'), 'shop.api');
  });

  it('builds the arguments for a local chart, a repository and an OCI registry', () => {
    const at = { release: 'podinfo', namespace: 'shop-production', dir: '/d/30-web' };
    assert.deepEqual(
      helmTemplateArgs(
        { chart: '../charts/podinfo', valuesFiles: ['prod.yaml'] },
        { ...at, valuesFile: '/t/v.json' },
      ),
      [
        'template',
        'podinfo',
        '/d/charts/podinfo',
        '--namespace',
        'shop-production',
        '--include-crds',
        '--values',
        '/d/30-web/prod.yaml',
        '--values',
        '/t/v.json',
      ],
    );
    assert.deepEqual(
      helmTemplateArgs({ repo: 'https://charts.example', name: 'podinfo', version: '6.14.1' }, at).slice(2),
      [
        'podinfo',
        '--repo',
        'https://charts.example',
        '--version',
        '6.14.1',
        '--namespace',
        'shop-production',
        '--include-crds',
      ],
    );
    assert.deepEqual(
      helmTemplateArgs(
        { repo: 'oci://ghcr.io/stefanprodan/charts/', name: 'podinfo', version: '6.14.1' },
        at,
      ).slice(2, 5),
      ['oci://ghcr.io/stefanprodan/charts/podinfo', '--version', '6.14.1'],
    );
  });

  it('reads the output document by document with the template each came from', () => {
    const { documents, problems } = parseHelmOutput(
      [
        '---',
        '# Source: podinfo/templates/service.yaml',
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: podinfo }',
        '---',
        '# Source: podinfo/templates/hpa.yaml',
        '---',
        '# Source: podinfo/templates/deployment.yaml',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: podinfo',
        '  annotations: { prometheus.io/port: "9797", enabled: "false" }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => [d.template, (d.value as KubeObject).kind]),
      [
        ['podinfo/templates/service.yaml', 'Service'],
        ['podinfo/templates/deployment.yaml', 'Deployment'],
      ],
    );
  });

  it('reads the version helm prints', () => {
    assert.deepEqual(parseHelmVersion('v4.3.1'), [4, 3]);
    assert.deepEqual(parseHelmVersion('v3.8.0+gd141386'), [3, 8]);
    assert.equal(parseHelmVersion('dev'), undefined);
  });
});

/** A `helm` that prints `version`, records its arguments and prints `output` for `template`. */
async function fakeHelm(
  version: string,
  output: string,
): Promise<{ envVars: Record<string, string>; args: () => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'capstan-fake-helm-'));
  await writeFile(join(dir, 'output.yaml'), output);
  await writeFile(
    join(dir, 'helm'),
    lines(
      '#!/bin/sh',
      `if [ "$1" = version ]; then echo "${version}"; exit 0; fi`,
      `echo "$@" > "${dir}/args"`,
      `cat "${dir}/output.yaml"`,
    ),
  );
  await chmod(join(dir, 'helm'), 0o755);
  return { envVars: { PATH: `${dir}:/usr/bin:/bin` }, args: () => readFile(join(dir, 'args'), 'utf8') };
}

const CHART_OUTPUT = lines(
  '---',
  '# Source: podinfo/templates/service.yaml',
  'apiVersion: v1',
  'kind: Service',
  'metadata: { name: podinfo, namespace: shop-staging }',
  '---',
  '# Source: podinfo/templates/hooks/job.yaml',
  'apiVersion: batch/v1',
  'kind: Job',
  'metadata:',
  '  name: podinfo-pre-install',
  '  annotations: { "helm.sh/hook": pre-install, "helm.sh/hook-weight": "-1" }',
  'spec: { template: { spec: { restartPolicy: Never, containers: [{ name: job, image: busybox }] } } }',
  '---',
  '# Source: podinfo/templates/hooks/job2.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: podinfo-pre-upgrade',
  '  annotations: { "helm.sh/hook": pre-upgrade }',
  '---',
  '# Source: podinfo/templates/tests/service.yaml',
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: podinfo-service-test-x1y2z',
  '  annotations: { "helm.sh/hook": test-success }',
  '---',
  '# Source: podinfo/templates/hooks/post.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: podinfo-post-upgrade',
  '  annotations: { "helm.sh/hook": post-upgrade }',
);

describe('renderEnvironment with a *.helm.yaml file', () => {
  it('renders the chart with helm template and puts its hooks in phases around the phase', async () => {
    const helm = await fakeHelm('v3.8.0', CHART_OUTPUT);
    const { phases, root } = await renderTree(
      {
        'staging/30-web/app.yaml': lines('apiVersion: v1', 'kind: ConfigMap', 'metadata: { name: app }'),
        'staging/30-web/podinfo.helm.yaml.ejs': lines(
          'chart: ../../charts/podinfo',
          'valuesFiles: [prod.yaml]',
          'values:',
          '  replicaCount: <%= values.replicas %>',
          '  image: { tag: "<%= image.split(":")[1] %>" }',
        ),
      },
      { envVars: helm.envVars, image: 'podinfo:6.14.1' },
    );
    assert.deepEqual(
      phases.map((p) => [
        p.name,
        p.order,
        p.objects.map((o) => `${o.object.kind}/${o.object.metadata.name ?? ''}`),
      ]),
      [
        ['30-web.podinfo.pre-hooks.-1', 30, ['Job/podinfo-pre-install']],
        ['30-web.podinfo.pre-hooks.0', 30, ['ConfigMap/podinfo-pre-upgrade']],
        ['30-web', 30, ['ConfigMap/app', 'Service/podinfo']],
        ['30-web.podinfo.post-hooks', 30, ['ConfigMap/podinfo-post-upgrade']],
      ],
    );
    const args = (await helm.args()).trim().split(' ');
    assert.deepEqual(args.slice(0, 3), ['template', 'podinfo', `${root}/.deploy/charts/podinfo`]);
    assert.deepEqual(args.slice(3, 8), [
      '--namespace',
      'shop-staging',
      '--include-crds',
      '--values',
      `${root}/.deploy/staging/30-web/prod.yaml`,
    ]);
    const service = phases[2]?.objects[1];
    assert.equal(service?.object.metadata.labels?.['capstan.dev/app'], 'shop');
    assert.equal(service?.source.file, `${root}/.deploy/staging/30-web/podinfo.helm.yaml.ejs`);
  });

  it('says, naming the file, when helm is missing or too old', async () => {
    const file = { 'staging/30-web/podinfo.helm.yaml': 'chart: ./podinfo\n' };
    assert.deepEqual(await renderTreeIssues(file, { envVars: { PATH: '/nonexistent' } }), [
      {
        file: 'staging/30-web/podinfo.helm.yaml',
        message:
          'helm is not on PATH: Capstan renders charts with `helm template` (install Helm 3.8 or later, https://helm.sh/docs/intro/install/)',
      },
    ]);
    const old = await fakeHelm('v3.7.2', '');
    assert.deepEqual(await renderTreeIssues(file, { envVars: old.envVars }), [
      {
        file: 'staging/30-web/podinfo.helm.yaml',
        message: 'helm v3.7.2 is too old: Capstan renders charts with Helm 3.8 or later',
      },
    ]);
  });

  it('reports a bad chart file and a bad release name before running helm', async () => {
    const helm = await fakeHelm('v4.3.1', CHART_OUTPUT);
    assert.deepEqual(
      await renderTreeIssues(
        { 'staging/30-web/Pod_Info.helm.yaml': lines('chart: ./podinfo', 'valuesFile: [a.yaml]') },
        { envVars: helm.envVars },
      ),
      [
        {
          file: 'staging/30-web/Pod_Info.helm.yaml',
          message:
            '"Pod_Info" (the file name before .helm.yaml) is the release name: lower-case letters, digits, dashes and dots, at most 53 characters',
        },
        {
          file: 'staging/30-web/Pod_Info.helm.yaml',
          line: 2,
          column: 1,
          path: 'valuesFile',
          message: 'unknown field "valuesFile"; did you mean "valuesFiles"?',
        },
      ],
    );
  });
});
