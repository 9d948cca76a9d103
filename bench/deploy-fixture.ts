// The deploy benchmark's application: N apps of one ConfigMap, one Service and one Deployment each,
// written as a Capstan app (.deploy tree), as plain manifests for kubectl and the floor, and as a
// Helm chart (the same documents as templates; Helm sets the namespace).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_APP = 'bench';
export const BENCH_ENV = 'bench';
export const BENCH_PHASE = '30-deployment';

export function appName(index: number): string {
  return `app-${String(index).padStart(3, '0')}`;
}

export function appNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => appName(i));
}

/** The three documents of one app; `namespace` undefined leaves it to Capstan's environment. */
function appYaml(index: number, image: string, namespace: string | undefined): string {
  const name = appName(index);
  const ns = namespace === undefined ? '' : `\n  namespace: ${namespace}`;
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}${ns}
data:
  GREETING: hello from ${name}
  APP_INDEX: "${index}"
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns}
  labels: { app: ${name} }
spec:
  selector: { app: ${name} }
  ports:
    - { name: http, port: 80, targetPort: 8080 }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}${ns}
  labels: { app: ${name} }
spec:
  replicas: 1
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: app
          image: ${image}
          ports:
            - { containerPort: 8080 }
          envFrom:
            - configMapRef: { name: ${name} }
          resources:
            requests: { cpu: 1m, memory: 4Mi }
            limits: { cpu: 10m, memory: 16Mi }
`;
}

/** Writes `<dir>/.deploy` with one environment and one phase of `count` app files (EJS, for `image`). */
export function writeCapstanApp(dir: string, count: number): void {
  const phaseDir = join(dir, '.deploy', BENCH_ENV, BENCH_PHASE);
  rmSync(join(dir, '.deploy'), { recursive: true, force: true });
  mkdirSync(phaseDir, { recursive: true });
  for (let i = 0; i < count; i++)
    writeFileSync(join(phaseDir, `${appName(i)}.yaml.ejs`), appYaml(i, '<%= image %>', undefined));
}

/** Points the environment at `namespace`: every iteration deploys into a fresh one. */
export function writeCapstanConfig(dir: string, namespace: string): void {
  writeFileSync(
    join(dir, '.deploy', 'capstan.yaml'),
    `app: ${BENCH_APP}
environments:
  ${BENCH_ENV}:
    namespace: ${namespace}
deploy:
  timeout: 5m
`,
  );
}

/** Writes the same objects as plain YAML with the namespace set, the Namespace itself first. */
export function writePlainManifests(dir: string, count: number, image: string, namespace: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, '00-namespace.yaml'),
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
  );
  for (let i = 0; i < count; i++)
    writeFileSync(join(dir, `${appName(i)}.yaml`), appYaml(i, image, namespace));
}

/** Writes a Helm chart of the same objects: one template per app, no values, namespace from `-n`. */
export function writeChart(dir: string, count: number, image: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${BENCH_APP}\nversion: 0.1.0\n`);
  for (let i = 0; i < count; i++)
    writeFileSync(join(dir, 'templates', `${appName(i)}.yaml`), appYaml(i, image, undefined));
}
