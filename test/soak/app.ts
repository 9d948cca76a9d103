// The application the soak deploys: a ConfigMap of settings, a varying set of extra ConfigMaps (so
// that prune has work), a Secret holding the run's distinctive secret value, and a Deployment
// reading it. Each deploy rewrites the tree from a Desired state; plain YAML, no templates.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const APP = 'soak';
export const ENV = 'test';

/** What one deploy renders. `crash`: pods that never become ready; `invalid`: a field the API refuses. */
export interface Desired {
  readonly image: number;
  readonly config: number;
  readonly extras: readonly number[];
  readonly mode: 'ok' | 'crash' | 'invalid';
}

export const imageOf = (n: number) => `example.com/soak/web:${n}`;

function configuration(desired: Desired, secret: string): string {
  const docs = [
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  VERSION: "${desired.config}"\n  FEATURE_X: "false"\n`,
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\ntype: Opaque\nstringData:\n  TOKEN: "${secret}"\n`,
    ...desired.extras.map(
      (i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-${i}\ndata:\n  INDEX: "${i}"\n`,
    ),
  ];
  return docs.join('---\n');
}

function deployment(desired: Desired): string {
  const labels: Record<string, string> = { app: 'web' };
  if (desired.mode === 'crash') labels['capstan.test/scenario'] = 'crashloop';
  return JSON.stringify(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: desired.mode === 'invalid' ? 'many' : 2,
        progressDeadlineSeconds: 600,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'web',
                image: imageOf(desired.image),
                env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'TOKEN' } } }],
              },
            ],
          },
        },
      },
    },
    null,
    2,
  );
}

export interface AppTree {
  readonly dir: string;
  write(desired: Desired): void;
  cleanup(): void;
}

/** A fresh application folder deploying to `namespace`; `secret` goes into the Secret only. */
export function appTree(namespace: string, secret: string): AppTree {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-soak-'));
  const put = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  put('.deploy/capstan.yaml', `app: ${APP}\nenvironments:\n  ${ENV}:\n    namespace: ${namespace}\n`);
  return {
    dir,
    write(desired) {
      put(`.deploy/${ENV}/10-configuration/settings.yaml`, configuration(desired, secret));
      put(`.deploy/${ENV}/30-deployment/web.yaml`, deployment(desired) + '\n');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
