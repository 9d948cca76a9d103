// Small rendered objects for the audit's unit tests: YAML text with real lines, like plain files.
import { parseYamlStream } from '../../../src/render/yaml-documents.js';
import type { RenderedObject } from '../../../src/render/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

export function renderedYaml(text: string, file = 'app.yaml'): RenderedObject[] {
  const { documents, problems } = parseYamlStream(text);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return documents.map((doc) => {
    const object = doc.value as KubeObject;
    object.metadata.namespace ??= 'shop';
    return { object, source: { file, line: doc.line }, lineOf: doc.lineOf };
  });
}

/** A Deployment with a good pod template; `container` and `pod` lines replace parts of it. */
export function deployment(
  options: {
    name?: string;
    replicas?: number;
    labels?: string;
    pod?: string;
    container?: string;
    image?: string;
    annotations?: string;
  } = {},
): string {
  const name = options.name ?? 'web';
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${options.replicas ?? 1}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name}${options.labels ?? ''} }${options.annotations ? `\n      annotations: ${options.annotations}` : ''}
    spec:
      securityContext: { runAsNonRoot: true }
${options.pod ?? ''}      containers:
        - name: ${name}
          image: ${options.image ?? 'registry.example/web:1.2.3'}
          securityContext: { allowPrivilegeEscalation: false }
          resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { memory: 32Mi } }
${options.container ?? ''}`;
}

export const PROBES = `          readinessProbe: { httpGet: { path: /ready, port: 8080 } }
          livenessProbe: { httpGet: { path: /healthz, port: 8080 } }
`;

export function service(name = 'web', selector = `{ app: ${name} }`): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: ${selector}
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
}
