import { CapstanError, type KubeObject } from '../shared/index.js';

/** A resource type as RBAC names it. */
export interface RbacResource {
  /** API group; empty for the core group. */
  readonly group: string;
  /** Plural resource name, e.g. `deployments`. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export type RbacSubject =
  | { readonly kind: 'Group' | 'User'; readonly name: string }
  | { readonly kind: 'ServiceAccount'; readonly namespace: string; readonly name: string };

export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  /** Why Capstan needs it, printed as a comment above the rule. */
  readonly why: string;
}

export interface RbacPlanInput {
  readonly app: string;
  readonly env: string;
  /** The environment's namespace: Capstan's own objects (locks, releases, task Jobs) live there. */
  readonly namespace: string;
  /** Each rendered object's type, and its namespace when it names one. */
  readonly objects: readonly { readonly type: RbacResource; readonly namespace?: string }[];
  readonly subject?: RbacSubject;
}

export interface RbacPlan {
  readonly name: string;
  /** One Role per namespace the deploy writes to, the environment's first. */
  readonly roles: readonly { readonly namespace: string; readonly rules: readonly RbacRule[] }[];
  /** Rules for cluster-scoped kinds the environment renders (Namespaces, CRDs, ClusterRoles...). */
  readonly clusterRules: readonly RbacRule[];
}

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** Server-side apply (patch; create for the dry run of new objects), waiting (list, watch), prune (delete). */
const APPLY_VERBS = ['get', 'list', 'watch', 'create', 'patch', 'delete'];
/** Kinds prune never deletes. */
const NEVER_DELETED = new Set(['Namespace', 'PersistentVolumeClaim']);

interface Need {
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  readonly why: string;
}

/**
 * What Capstan itself calls in the environment's namespace, whatever is rendered: derived from
 * the lock (release/lock.ts), the release store (release/store.ts), the waiter's informers and
 * diagnosis (rollout/), hook Jobs and tasks (deploy/hook-jobs.ts, tasks/).
 */
function capstanNeeds(kinds: ReadonlySet<string>): Need[] {
  const needs: Need[] = [
    {
      group: 'coordination.k8s.io',
      resource: 'leases',
      verbs: ['get', 'create', 'update', 'delete'],
      why: 'the deploy lock and task locks (unlock deletes them)',
    },
    {
      group: '',
      resource: 'secrets',
      verbs: ['get', 'list', 'create', 'patch', 'delete'],
      why: 'release records (history, rollback; old ones pruned) and the ejson keys Secret',
    },
    {
      group: '',
      resource: 'pods',
      verbs: ['get', 'list', 'watch'],
      why: 'waiting for rollouts and Jobs, and saying why a pod is not ready',
    },
    {
      group: '',
      resource: 'pods/log',
      verbs: ['get'],
      why: 'the last log lines of failing pods, task output',
    },
    {
      group: '',
      resource: 'events',
      verbs: ['list', 'watch'],
      why: 'warnings that explain a failed rollout',
    },
    { group: '', resource: 'resourcequotas', verbs: ['get'], why: 'quota refusals in rollout diagnosis' },
    {
      group: '',
      resource: 'configmaps',
      verbs: ['list'],
      why: 'cutover records: a deploy to a cluster a cutover left not live is refused',
    },
    {
      group: 'apps',
      resource: 'replicasets',
      verbs: ['list', 'watch'],
      why: 'rollout progress of Deployments',
    },
    {
      group: 'batch',
      resource: 'jobs',
      verbs: ['get', 'list', 'watch', 'create', 'delete'],
      why: 'hook Jobs, `capstan run` and `capstan jobs clean`',
    },
    {
      group: 'apps',
      resource: 'deployments',
      verbs: ['get', 'list'],
      why: '`capstan run` takes its image, env and volumes from a Deployment',
    },
  ];
  if (kinds.has('Service'))
    needs.push({
      group: 'discovery.k8s.io',
      resource: 'endpointslices',
      verbs: ['list', 'watch'],
      why: 'a Service is ready when its endpoints are',
    });
  return needs;
}

function sortVerbs(verbs: Iterable<string>): string[] {
  return [...new Set(verbs)].sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));
}

/** Needs merged per resource, then resources of one group with the same verbs in one rule. */
export function mergeRules(needs: readonly Need[]): RbacRule[] {
  const byResource = new Map<
    string,
    { group: string; resource: string; verbs: Set<string>; why: string[] }
  >();
  for (const need of needs) {
    const key = `${need.group}\0${need.resource}`;
    const entry = byResource.get(key) ?? {
      group: need.group,
      resource: need.resource,
      verbs: new Set(),
      why: [],
    };
    need.verbs.forEach((v) => entry.verbs.add(v));
    if (!entry.why.includes(need.why)) entry.why.push(need.why);
    byResource.set(key, entry);
  }
  const rules = new Map<string, { group: string; resources: string[]; verbs: string[]; why: string[] }>();
  for (const entry of byResource.values()) {
    const verbs = sortVerbs(entry.verbs);
    const key = `${entry.group}\0${verbs.join(',')}`;
    const rule = rules.get(key) ?? { group: entry.group, resources: [], verbs, why: [] };
    rule.resources.push(entry.resource);
    for (const why of entry.why) if (!rule.why.includes(why)) rule.why.push(why);
    rules.set(key, rule);
  }
  for (const rule of rules.values()) rule.resources.sort();
  return [...rules.values()]
    .sort((a, b) => a.group.localeCompare(b.group) || a.resources[0].localeCompare(b.resources[0]))
    .map((r) => ({
      apiGroups: [r.group],
      resources: r.resources,
      verbs: r.verbs,
      why: r.why.join('; '),
    }));
}

function applyNeed(type: RbacResource): Need {
  return {
    group: type.group,
    resource: type.resource,
    verbs: NEVER_DELETED.has(type.kind) ? APPLY_VERBS.filter((v) => v !== 'delete') : APPLY_VERBS,
    why: 'rendered by the environment: server-side apply and its dry run, waiting, prune',
  };
}

/** The least privilege a deploy of one environment needs: pure, from the rendered types. */
export function planRbac(input: RbacPlanInput): RbacPlan {
  const kinds = new Set(input.objects.map((o) => o.type.kind));
  const byNamespace = new Map<string, Need[]>([[input.namespace, capstanNeeds(kinds)]]);
  const cluster: Need[] = [];
  for (const { type, namespace } of input.objects) {
    if (!type.namespaced) {
      cluster.push(applyNeed(type));
      continue;
    }
    const ns = namespace ?? input.namespace;
    const needs = byNamespace.get(ns) ?? [];
    needs.push(applyNeed(type));
    byNamespace.set(ns, needs);
  }
  return {
    name: `capstan-deploy:${input.app}-${input.env}`,
    roles: [...byNamespace.entries()].map(([namespace, needs]) => ({ namespace, rules: mergeRules(needs) })),
    clusterRules: mergeRules(cluster),
  };
}

/** `group:NAME`, `user:NAME`, `serviceaccount:NS/NAME`. */
export function parseSubject(text: string): RbacSubject {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon).toLowerCase();
  const name = text.slice(colon + 1);
  if (colon > 0 && name) {
    if (kind === 'group') return { kind: 'Group', name };
    if (kind === 'user') return { kind: 'User', name };
    const slash = name.indexOf('/');
    if (kind === 'serviceaccount' && slash > 0 && slash < name.length - 1)
      return { kind: 'ServiceAccount', namespace: name.slice(0, slash), name: name.slice(slash + 1) };
  }
  throw new CapstanError('ERR_CAPSTAN_USAGE', `--subject "${text}" is not a subject`, {
    hint: 'write group:NAME, user:NAME or serviceaccount:NAMESPACE/NAME (e.g. group:oidc:deployers)',
  });
}

function subjectObject(subject: RbacSubject): Record<string, string> {
  return subject.kind === 'ServiceAccount'
    ? { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }
    : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name };
}

const RBAC = 'rbac.authorization.k8s.io/v1';
const GENERATED = { 'capstan.dev/generated-by': 'capstan rbac' };

function ruleObject(rule: RbacRule): Record<string, unknown> {
  return { apiGroups: rule.apiGroups, resources: rule.resources, verbs: rule.verbs };
}

/**
 * The plan as objects ready to apply: Roles (and a ClusterRole), with their bindings when a
 * subject is given. Unlabelled by Capstan's app labels, so that no deploy prunes them.
 */
export function rbacObjects(plan: RbacPlan, subject?: RbacSubject): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const role of plan.roles) {
    const metadata = { name: plan.name, namespace: role.namespace, annotations: GENERATED };
    objects.push({
      apiVersion: RBAC,
      kind: 'Role',
      metadata,
      rules: role.rules.map(ruleObject),
    });
    if (subject)
      objects.push({
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: plan.name },
        subjects: [subjectObject(subject)],
      });
  }
  if (plan.clusterRules.length > 0) {
    const metadata = { name: plan.name, annotations: GENERATED };
    objects.push({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata,
      rules: plan.clusterRules.map(ruleObject),
    });
    if (subject)
      objects.push({
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: plan.name },
        subjects: [subjectObject(subject)],
      });
  }
  return objects;
}

/**
 * What `capstan watch` calls in the environment's namespace (watch/): it reads the workloads,
 * their pods, logs and events and the release records, and writes only its own ConfigMap and the
 * Lease its watchers elect a leader with.
 */
export function planWatchRbac(input: Pick<RbacPlanInput, 'app' | 'env' | 'namespace'>): RbacPlan {
  const read = ['get', 'list', 'watch'];
  const needs: Need[] = [
    ...['deployments', 'statefulsets', 'daemonsets', 'replicasets'].map((resource) => ({
      group: 'apps',
      resource,
      verbs: read,
      why: 'the workloads watched, and Deployments through their ReplicaSets',
    })),
    ...['jobs', 'cronjobs'].map((resource) => ({
      group: 'batch',
      resource,
      verbs: read,
      why: "failed Jobs, and a CronJob's through its Jobs",
    })),
    {
      group: '',
      resource: 'pods',
      verbs: read,
      why: "the pods' container states: crash loops, OOM kills, image pulls",
    },
    { group: '', resource: 'events', verbs: read, why: 'warnings that explain an incident' },
    { group: '', resource: 'pods/log', verbs: ['get'], why: 'the last log lines of failing containers' },
    {
      group: '',
      resource: 'secrets',
      verbs: ['list'],
      why: 'release records: the live release, and the secret values to redact from messages',
    },
    {
      group: '',
      resource: 'configmaps',
      verbs: ['get', 'create', 'patch'],
      why: "the watchers' record (capstan-watch-APP-ENV: incidents, messages sent, silences)",
    },
    {
      group: 'coordination.k8s.io',
      resource: 'leases',
      verbs: ['get', 'create', 'update'],
      why: "the watchers' leader election, and the deploy lock (read: quiet during a deploy)",
    },
  ];
  return {
    name: `capstan-watch:${input.app}-${input.env}`,
    roles: [{ namespace: input.namespace, rules: mergeRules(needs) }],
    clusterRules: [],
  };
}
