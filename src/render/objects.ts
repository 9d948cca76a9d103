import type { Issue, KubeObject } from '../shared/index.js';
import { isRecord } from '../shared/index.js';

/** Kinds that live outside namespaces; any other kind, custom ones included, is taken as namespaced. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'APIService',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED_KINDS.has(kind);
}

/** The labels that mark an object as applied by Capstan for one app and environment (prune selects on them). */
export function managedLabels(app: string, env: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'capstan', 'capstan.dev/app': app, 'capstan.dev/env': env };
}

/** Where a problem found in a value is reported. */
export interface ObjectSite {
  readonly file: string;
  readonly line?: number;
  /** Line of the deepest existing node along a path, when the value came from a YAML file or template. */
  readonly lineOf?: (path: readonly string[]) => number;
  /** Where a field came from, partials included (RenderedObject.locate). */
  readonly locate?: (path: readonly string[]) => { readonly file: string; readonly line: number };
  /** Prefix for messages when lines are not those of the file (e.g. "document 2: "). */
  readonly label?: string;
}

/** Check that `value` looks like a Kubernetes object; issues say which field is wrong and where. */
export function checkObject(value: unknown, site: ObjectSite): Issue[] {
  const issue = (path: string | undefined, message: string): Issue => {
    const line = path && site.lineOf ? site.lineOf(path.split('.')) : site.line;
    return {
      file: site.file,
      ...(line === undefined ? {} : { line }),
      ...(path === undefined ? {} : { path }),
      message: `${site.label ?? ''}${message}`,
    };
  };
  if (!isRecord(value)) {
    return [
      issue(undefined, `expected a Kubernetes object, got ${Array.isArray(value) ? 'a list' : typeof value}`),
    ];
  }
  const issues: Issue[] = [];
  for (const field of ['apiVersion', 'kind'] as const) {
    const v = value[field];
    if (typeof v !== 'string' || v === '') issues.push(issue(field, `missing ${field}`));
  }
  const metadata = value['metadata'];
  if (!isRecord(metadata)) {
    issues.push(issue('metadata', 'missing metadata (with at least a name)'));
    return issues;
  }
  if (typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    issues.push(issue('metadata.name', 'missing metadata.name'));
  }
  if (metadata['namespace'] !== undefined && typeof metadata['namespace'] !== 'string') {
    issues.push(issue('metadata.namespace', 'metadata.namespace must be a string'));
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) {
      issues.push(issue(`metadata.${field}`, `metadata.${field} must be a mapping`));
      continue;
    }
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== 'string') {
        issues.push(
          issue(`metadata.${field}.${key}`, `${field} values must be strings; quote ${JSON.stringify(v)}`),
        );
      }
    }
  }
  if (
    typeof value['kind'] === 'string' &&
    isClusterScoped(value['kind']) &&
    metadata['namespace'] !== undefined
  ) {
    issues.push(issue('metadata.namespace', `${value['kind']} is cluster-scoped: remove metadata.namespace`));
  }
  return issues;
}

/** The namespaces one environment deploys to: its own, and those capstan.yaml lists for it. */
export interface EnvironmentNamespaces {
  readonly name: string;
  readonly namespace: string;
  readonly extraNamespaces: readonly string[];
}

/** Issues made by checkNamespace, so the error can carry the one hint they share. */
const foreignNamespaceIssues = new WeakSet<Issue>();

export function isForeignNamespaceIssue(issue: Issue): boolean {
  return foreignNamespaceIssues.has(issue);
}

/** An object naming a namespace its environment does not deploy to (pure): the issue, or undefined. */
export function checkNamespace(
  object: KubeObject,
  site: ObjectSite,
  env: EnvironmentNamespaces,
): Issue | undefined {
  const named = object.metadata.namespace;
  if (named === undefined || named === env.namespace || env.extraNamespaces.includes(named)) return undefined;
  const line = site.lineOf ? site.lineOf(['metadata', 'namespace']) : site.line;
  const extra = env.extraNamespaces.length > 0 ? ` (or ${env.extraNamespaces.join(', ')})` : '';
  const issue: Issue = {
    file: site.file,
    ...(line === undefined ? {} : { line }),
    path: 'metadata.namespace',
    message: `${site.label ?? ''}${object.kind}/${object.metadata.name ?? ''} names namespace "${named}", but environment "${env.name}" deploys to "${env.namespace}"${extra}`,
  };
  foreignNamespaceIssues.add(issue);
  return issue;
}

/** What to do about objects in other namespaces: one hint for all of them. */
export function foreignNamespaceHint(env: EnvironmentNamespaces): string {
  return `drop the \`namespace:\` line (an object without one goes to ${env.namespace}), or render with the right namespace (e.g. \`helm template -n ${env.namespace}\`); if the environment really deploys there too, list it in capstan.yaml under environments.${env.name}.extraNamespaces`;
}

/** Default the namespace of namespaced objects and add the managed labels (ours win over the user's). */
export function completeObject(
  object: KubeObject,
  options: { app: string; env: string; namespace: string },
): void {
  const { name, namespace, ...rest } = object.metadata;
  const defaulted = namespace ?? (isClusterScoped(object.kind) ? undefined : options.namespace);
  // Rebuilt so name and namespace come first when printed.
  object.metadata = {
    name,
    ...(defaulted === undefined ? {} : { namespace: defaulted }),
    ...rest,
    labels: { ...(rest.labels ?? {}), ...managedLabels(options.app, options.env) },
  };
}
