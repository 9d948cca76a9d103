import { Document, isScalar, visit } from 'yaml';
import { connectionOf, loadConfig, resolveOneCluster } from '../config/index.js';
import { KubeClient, splitApiVersion } from '../kube/index.js';
import { renderEnvironment } from '../render/index.js';
import { isSopsFileName, readSopsObjectsUnverified } from '../secrets/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import { planRbac, rbacObjects, type RbacPlan, type RbacResource, type RbacSubject } from './plan-rbac.js';

export interface EnvironmentRbacOptions {
  readonly cwd: string;
  readonly env: string;
  /**
   * The cluster whose Role to compute: required for a multi-cluster environment, since what is
   * printed is applied to one cluster (its namespace, the kinds it serves).
   */
  readonly cluster?: string;
  readonly set?: readonly string[];
  readonly image?: string;
  readonly subject?: RbacSubject;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly envVars?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

export interface EnvironmentRbac {
  readonly plan: RbacPlan;
  readonly objects: readonly KubeObject[];
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; kind?: string };
}

/**
 * Types of custom resources whose CRD the environment itself renders: the cluster may not serve
 * them yet, their CRD says how RBAC names them.
 */
function renderedCrdTypes(objects: readonly KubeObject[]): Map<string, RbacResource> {
  const types = new Map<string, RbacResource>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const spec = (object as { spec?: CrdSpec }).spec ?? {};
    if (!spec.group || !spec.names?.plural || !spec.names.kind) continue;
    types.set(`${spec.group}/${spec.names.kind}`, {
      group: spec.group,
      resource: spec.names.plural,
      kind: spec.names.kind,
      namespaced: spec.scope !== 'Cluster',
    });
  }
  return types;
}

/**
 * Renders the environment and names each object's resource by the cluster's discovery (the
 * rendered CRDs for custom resources not served yet); a kind neither knows stops it, since a
 * Role that leaves it out would not be enough.
 */
export async function computeEnvironmentRbac(options: EnvironmentRbacOptions): Promise<EnvironmentRbac> {
  const loaded = await loadConfig({ cwd: options.cwd });
  const env = resolveOneCluster(loaded, options.env, {
    set: options.set,
    cluster: options.cluster,
    command: 'rbac',
  });
  // Only the kinds matter: each ejson file stands for Secrets in its namespace, nothing is decrypted;
  // a SOPS file's kinds and names are in clear.
  const phases = await renderEnvironment({
    env,
    image: options.image ?? env.image ?? 'rbac.invalid/image',
    deployId: 'rbac',
    envVars: options.envVars ?? {},
    renderSecrets: async (file, namespace) =>
      isSopsFileName(file)
        ? ((await readSopsObjectsUnverified(file)) as KubeObject[])
        : [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ejson', namespace } }],
  });
  const rendered = phases.flatMap((p) => p.objects);
  const crdTypes = renderedCrdTypes(rendered.map((r) => r.object));
  const client = await KubeClient.connect({
    ...connectionOf(env, { kubeconfig: options.kubeconfig, context: options.context }),
    env: options.envVars,
  });
  try {
    const objects: { type: RbacResource; namespace?: string }[] = [];
    const unknown: string[] = [];
    for (const { object, source } of rendered) {
      const served = await client.discovery.find(object.apiVersion, object.kind);
      const type: RbacResource | undefined = served
        ? { group: served.group, resource: served.resource, kind: served.kind, namespaced: served.namespaced }
        : crdTypes.get(`${splitApiVersion(object.apiVersion).group}/${object.kind}`);
      if (!type) unknown.push(`${source.file}: ${object.kind} (${object.apiVersion})`);
      else objects.push({ type, namespace: object.metadata.namespace });
    }
    if (unknown.length > 0) {
      throw new CapstanError(
        'ERR_CAPSTAN_UNKNOWN_KIND',
        `the cluster does not serve, and the environment defines no CRD for: ${unknown.join(', ')}`,
        { hint: 'check apiVersion and kind, or run against the cluster the environment deploys to' },
      );
    }
    const plan = planRbac({ app: env.app, env: env.name, namespace: env.namespace, objects });
    return { plan, objects: rbacObjects(plan, options.subject) };
  } finally {
    client.close();
  }
}

/** Multi-document YAML ready for `kubectl apply -f -`, each rule preceded by why it is needed. */
export function formatRbacYaml(rbac: EnvironmentRbac): string {
  const { plan } = rbac;
  return rbac.objects
    .map((object) => {
      const doc = new Document(object, { aliasDuplicateObjects: false });
      const rules =
        plan.roles.find((r) => object.kind === 'Role' && r.namespace === object.metadata.namespace)?.rules ??
        (object.kind === 'ClusterRole' ? plan.clusterRules : undefined);
      rules?.forEach((rule, index) => {
        const node = doc.getIn(['rules', index], true) as { commentBefore?: string } | undefined;
        if (node) node.commentBefore = ` ${rule.why}`;
      });
      // Lists of names on one line, as people write rules by hand.
      visit(doc, {
        Seq: (_key, node) => {
          if (node.items.every((item) => isScalar(item))) node.flow = true;
        },
      });
      return `---\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
    })
    .join('');
}
