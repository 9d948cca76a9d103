// The pure core of a migration: from what A and B hold, which objects to copy in which form and
// order, which to skip and why, and which kinds B cannot take.
import { objectKey, type KubeObject } from '../shared/index.js';
import {
  at,
  formatRef,
  groupKind,
  groupKindOf,
  groupOf,
  list,
  record,
  refOf,
  str,
  type Json,
} from './json.js';
import { kindMatches, waveOf, type KindChoice } from './kinds.js';
import {
  indexCluster,
  objectSkipReason,
  RUNNING_JOB,
  statefulSetOfClaim,
  type ClusterIndex,
} from './rules.js';
import { parseLabelSelector } from './selector.js';
import { stripForCopy } from './strip.js';
import type {
  KindCount,
  LeftOut,
  MigrationPlan,
  MigrationScope,
  PlannedObject,
  PlannedOwner,
} from './types.js';
import type { SkippedKind, SkippedObject, UncopiedVolume, UnsupportedKind } from './types.js';

const CRD = 'CustomResourceDefinition.apiextensions.k8s.io';
const CLUSTER_ROLE = 'ClusterRole.rbac.authorization.k8s.io';
const CLUSTER_ROLE_BINDING = 'ClusterRoleBinding.rbac.authorization.k8s.io';
const PRIORITY_CLASS = 'PriorityClass.scheduling.k8s.io';

/** Cluster-scoped kinds read even when only some namespaces are copied: their objects may need them. */
const DEPENDENCY_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  CRD,
  CLUSTER_ROLE,
  CLUSTER_ROLE_BINDING,
  PRIORITY_CLASS,
  'PersistentVolume',
]);

export interface KindSelection {
  readonly read: readonly KindChoice[];
  readonly skipped: readonly SkippedKind[];
  /** Kinds copied only as what selected objects need (`Kind.group`). */
  readonly dependencyOnly: ReadonlySet<string>;
}

/** Which kinds to read from A, given the scope's namespaces and the include and exclude lists. */
export function selectKinds(chosen: readonly KindChoice[], scope: MigrationScope): KindSelection {
  const read: KindChoice[] = [];
  const skipped: SkippedKind[] = [];
  const dependencyOnly = new Set<string>();
  for (const choice of chosen) {
    const gk = groupKind(choice.group, choice.kind);
    if (scope.excludeKinds?.some((p) => kindMatches(p, choice.type))) {
      skipped.push({ kind: choice.kind, group: choice.group, reason: 'excluded by --exclude-kinds' });
      continue;
    }
    const dependency = DEPENDENCY_KINDS.has(gk);
    if (scope.namespaces && !choice.type.namespaced && !dependency) continue;
    const included = !scope.includeKinds || scope.includeKinds.some((p) => kindMatches(p, choice.type));
    if (!included && !dependency) {
      skipped.push({ kind: choice.kind, group: choice.group, reason: 'not in --include-kinds' });
      continue;
    }
    if (!included || (scope.namespaces && !choice.type.namespaced && gk !== 'Namespace'))
      dependencyOnly.add(gk);
    read.push(choice);
  }
  return { read, skipped, dependencyOnly };
}

export interface PlanInput {
  /** Objects read from A (at the chosen versions). */
  readonly source: readonly KubeObject[];
  /** B's objects of the same kinds and scope, keyed by `objectKey`. */
  readonly target: ReadonlyMap<string, KubeObject>;
  readonly scope: MigrationScope;
  readonly kinds: readonly KindChoice[];
  readonly selection: KindSelection;
}

function podSpecs(o: KubeObject): unknown[] {
  return [
    at(o, 'spec'),
    at(o, 'spec', 'template', 'spec'),
    at(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
  ];
}

/** Keys of the cluster-scoped objects that the chosen objects need. */
function dependenciesOf(
  chosen: readonly KubeObject[],
  source: readonly KubeObject[],
  accountsCopied: boolean,
): Set<string> {
  const needed = new Set<string>();
  const namespaces = new Set<string>();
  const key = (gk: string, name: string) => `${gk}//${name}`;
  const keyOf = (apiGroup: string, kind: string, name: string) => key(groupKind(apiGroup, kind), name);
  for (const o of chosen) {
    const ns = o.metadata.namespace;
    if (ns) {
      namespaces.add(ns);
      needed.add(key('Namespace', ns));
    }
    needed.add(`crd-of/${groupKindOf(o)}`);
    for (const spec of podSpecs(o)) {
      const priority = str(at(spec, 'priorityClassName'));
      if (priority) needed.add(keyOf('scheduling.k8s.io', 'PriorityClass', priority));
    }
    if (o.kind === 'RoleBinding' && at(o, 'roleRef', 'kind') === 'ClusterRole') {
      needed.add(keyOf('rbac.authorization.k8s.io', 'ClusterRole', str(at(o, 'roleRef', 'name')) ?? ''));
    }
    if (o.kind === 'PersistentVolumeClaim' && str(at(o, 'spec', 'volumeName')))
      needed.add(key('PersistentVolume', str(at(o, 'spec', 'volumeName'))!));
  }
  for (const o of source) {
    const gk = groupKindOf(o);
    if (gk === CRD) {
      const defines = groupKind(str(at(o, 'spec', 'group')) ?? '', str(at(o, 'spec', 'names', 'kind')) ?? '');
      if (needed.has(`crd-of/${defines}`)) needed.add(objectKey(o));
    }
    const grantsNamespace = () =>
      list(o.subjects).some((s) => s.kind === 'ServiceAccount' && namespaces.has(str(s.namespace) ?? ''));
    if (gk === CLUSTER_ROLE_BINDING && accountsCopied && grantsNamespace()) {
      needed.add(objectKey(o));
      needed.add(keyOf('rbac.authorization.k8s.io', 'ClusterRole', str(at(o, 'roleRef', 'name')) ?? ''));
    }
  }
  return needed;
}

function mergeDefaultAccount(stripped: KubeObject, inTarget: KubeObject | undefined): KubeObject {
  // B's default ServiceAccount keeps its own pull secrets; A's are added by name.
  const names = new Set<string>();
  const merged = [...list(stripped.imagePullSecrets), ...list(inTarget?.imagePullSecrets)].filter((s) => {
    const name = str(s.name) ?? '';
    if (names.has(name)) return false;
    names.add(name);
    return true;
  });
  return merged.length > 0 ? { ...stripped, imagePullSecrets: merged } : stripped;
}

/** The labels that make an object part of an application stack (`--app`). */
export const APP_LABELS = ['capstan.dev/app', 'app.kubernetes.io/part-of'] as const;

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Names of the Secrets and ConfigMaps a pod spec reads: volumes, projected volumes, env, envFrom, pull secrets. */
function podReferences(spec: Json): { secrets: string[]; configMaps: string[] } {
  const secrets = list(spec.imagePullSecrets).map((s) => str(s.name));
  const configMaps: (string | undefined)[] = [];
  for (const volume of list(spec.volumes)) {
    secrets.push(str(at(volume, 'secret', 'secretName')));
    configMaps.push(str(at(volume, 'configMap', 'name')));
    for (const source of list(at(volume, 'projected', 'sources'))) {
      secrets.push(str(at(source, 'secret', 'name')));
      configMaps.push(str(at(source, 'configMap', 'name')));
    }
  }
  for (const container of [...list(spec.containers), ...list(spec.initContainers)]) {
    for (const env of list(container.env)) {
      secrets.push(str(at(env, 'valueFrom', 'secretKeyRef', 'name')));
      configMaps.push(str(at(env, 'valueFrom', 'configMapKeyRef', 'name')));
    }
    for (const from of list(container.envFrom)) {
      secrets.push(str(at(from, 'secretRef', 'name')));
      configMaps.push(str(at(from, 'configMapRef', 'name')));
    }
  }
  const named = (names: (string | undefined)[]) => names.filter((n): n is string => Boolean(n));
  return { secrets: named(secrets), configMaps: named(configMaps) };
}

/** Keys of what an application's objects use: their ServiceAccounts, what grants those, Secrets and ConfigMaps. */
function usedByApp(members: readonly KubeObject[], source: readonly KubeObject[]): Set<string> {
  const used = new Set<string>();
  const accounts = new Set<string>();
  for (const o of members) {
    const ns = o.metadata.namespace ?? '';
    for (const spec of podSpecs(o)) {
      const pod = record(spec);
      if (!pod || list(pod.containers).length === 0) continue;
      accounts.add(`${ns}/${str(pod.serviceAccountName) ?? 'default'}`);
      const { secrets, configMaps } = podReferences(pod);
      for (const name of secrets) used.add(`Secret/${ns}/${name}`);
      for (const name of configMaps) used.add(`ConfigMap/${ns}/${name}`);
    }
    if (o.kind === 'ServiceAccount' && o.apiVersion === 'v1') accounts.add(`${ns}/${o.metadata.name}`);
    if (o.kind === 'Ingress')
      for (const tls of list(at(o, 'spec', 'tls')))
        if (str(tls.secretName)) used.add(`Secret/${ns}/${str(tls.secretName)}`);
  }
  for (const account of accounts) used.add(`ServiceAccount/${account}`);
  for (const o of source) {
    const ns = o.metadata.namespace ?? '';
    if (o.kind === 'ServiceAccount' && o.apiVersion === 'v1' && accounts.has(`${ns}/${o.metadata.name}`)) {
      for (const s of list(o.imagePullSecrets)) if (str(s.name)) used.add(`Secret/${ns}/${str(s.name)}`);
    }
    if ((o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') || groupOf(o.apiVersion) !== RBAC_GROUP)
      continue;
    const grants = list(o.subjects).some(
      (s) => s.kind === 'ServiceAccount' && accounts.has(`${str(s.namespace) ?? ns}/${str(s.name) ?? ''}`),
    );
    if (!grants) continue;
    used.add(objectKey(o));
    const role = str(at(o, 'roleRef', 'name')) ?? '';
    used.add(
      at(o, 'roleRef', 'kind') === 'Role'
        ? `Role.${RBAC_GROUP}/${ns}/${role}`
        : `ClusterRole.${RBAC_GROUP}//${role}`,
    );
  }
  return used;
}

/** Whether an object is chosen by the scope itself (not only as something chosen objects need). */
export function scopePredicate(
  scope: MigrationScope,
  selection: KindSelection,
): (object: KubeObject) => boolean {
  const matches = parseLabelSelector(scope.selector ?? '');
  const namespaces = scope.namespaces ? new Set(scope.namespaces) : undefined;
  const { app } = scope;
  return (o) => {
    const gk = groupKindOf(o);
    if (selection.dependencyOnly.has(gk)) return false;
    if (app !== undefined) return APP_LABELS.some((label) => o.metadata.labels?.[label] === app);
    if (gk === 'Namespace' && namespaces) return namespaces.has(o.metadata.name ?? '');
    if (o.metadata.namespace)
      return (!namespaces || namespaces.has(o.metadata.namespace)) && matches(o.metadata.labels);
    return !namespaces && matches(o.metadata.labels);
  };
}

/** The whole plan: pure, so every rule is unit-tested without a cluster. */
export function planMigration(input: PlanInput): MigrationPlan {
  // Objects of kinds the selection does not read (excluded, or not included) play no part.
  const read = new Set(input.selection.read.map((k) => groupKind(k.group, k.kind)));
  const source = input.source.filter((o) => read.has(groupKindOf(o)));
  const index = indexCluster(source);
  const reasons = new Map<KubeObject, string | undefined>();
  const reasonOf = (o: KubeObject) => {
    if (!reasons.has(o)) reasons.set(o, objectSkipReason(o, index));
    return reasons.get(o);
  };
  let direct = source.filter(scopePredicate(input.scope, input.selection));
  if (input.scope.app !== undefined) {
    const used = usedByApp(
      direct.filter((o) => !reasonOf(o)),
      source,
    );
    const members = new Set(direct);
    direct = [...direct, ...source.filter((o) => !members.has(o) && used.has(objectKey(o)))];
  }
  // ClusterRoleBindings come with the namespaces whose ServiceAccounts they grant, when accounts are
  // copied (for an application, only those that grant its own accounts: chosen above).
  const accountsCopied =
    input.scope.app === undefined &&
    read.has('ServiceAccount') &&
    !input.selection.dependencyOnly.has('ServiceAccount');
  const needed = dependenciesOf(
    direct.filter((o) => !reasonOf(o)),
    source,
    accountsCopied,
  );
  const chosen = new Set([
    ...direct,
    ...source.filter((o) => !o.metadata.namespace && needed.has(objectKey(o))),
  ]);

  const choiceOf = new Map(input.kinds.map((k) => [groupKind(k.group, k.kind), k]));
  const copiedCrdKinds = new Set<string>();
  const copiedVolumes = new Set<string>();
  for (const o of chosen) {
    if (reasonOf(o)) continue;
    if (groupKindOf(o) === CRD)
      copiedCrdKinds.add(
        groupKind(str(at(o, 'spec', 'group')) ?? '', str(at(o, 'spec', 'names', 'kind')) ?? ''),
      );
    if (o.kind === 'PersistentVolume') copiedVolumes.add(o.metadata.name ?? '');
  }

  const objects: PlannedObject[] = [];
  const copied = new Map<string, KubeObject>();
  const skipped: SkippedObject[] = [];
  const unsupported = new Map<string, UnsupportedKind>();
  for (const o of chosen) {
    const gk = groupKindOf(o);
    const choice = choiceOf.get(gk);
    const key = objectKey(o);
    let reason = reasonOf(o);
    const unsupportedReason =
      choice?.unsupported ??
      (choice?.needsCrd && !copiedCrdKinds.has(gk)
        ? `B does not serve ${gk} and its CustomResourceDefinition is not copied`
        : undefined);
    if (!reason && unsupportedReason) {
      reason = unsupportedReason;
      const entry = unsupported.get(gk) ?? {
        kind: o.kind,
        group: groupOf(o.apiVersion),
        reason: unsupportedReason,
        objects: 0,
      };
      unsupported.set(gk, { ...entry, objects: entry.objects + 1 });
    }
    const inTarget = input.target.get(key);
    if (!reason && o.kind === 'StorageClass' && inTarget)
      reason = `B has its own StorageClass ${o.metadata.name}`;
    if (reason) {
      skipped.push({ ref: refOf(o), reason });
      continue;
    }
    let stripped = stripForCopy(o, { copiedVolumes, suspendCronJobs: true });
    if (o.kind === 'ServiceAccount' && o.metadata.name === 'default')
      stripped = mergeDefaultAccount(stripped, inTarget);
    objects.push({
      key,
      ref: refOf(o),
      wave: waveOf(groupOf(o.apiVersion), o.kind),
      object: stripped,
      current: inTarget,
    });
    copied.set(key, o);
  }
  for (const [i, planned] of objects.entries()) {
    const owners = copiedOwners(copied.get(planned.key)!, copied);
    if (owners.length > 0) objects[i] = { ...planned, owners };
  }
  objects.sort((a, b) => a.wave - b.wave || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const label = (s: SkippedObject) => formatRef(s.ref);
  skipped.sort((a, b) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0));
  const leftOut: LeftOut = {
    volumes: uncopiedVolumes(chosen, { index, reasonOf, copied, copiedVolumes }),
    runningJobs: skipped.filter((x) => x.reason === RUNNING_JOB).map((x) => x.ref),
  };
  return {
    objects,
    skipped,
    skippedKinds: input.selection.skipped,
    unsupported: [...unsupported.values()],
    counts: countByKind(objects, skipped),
    leftOut,
  };
}

/**
 * A's non-controller ownerReferences whose owner (the very object: same UID in A) is copied too.
 * The others are dropped: a UID of A means nothing in B, and B's garbage collector would delete
 * the copy at once. Controller-owned objects are not copied at all (their controller recreates them).
 */
function copiedOwners(o: KubeObject, copied: ReadonlyMap<string, KubeObject>): PlannedOwner[] {
  const owners: PlannedOwner[] = [];
  for (const ref of o.metadata.ownerReferences ?? []) {
    if (ref.controller === true) continue;
    const gk = groupKind(groupOf(ref.apiVersion), ref.kind);
    // Owners are in the dependent's namespace, or cluster-scoped.
    const key = [`${gk}/${o.metadata.namespace ?? ''}/${ref.name}`, `${gk}//${ref.name}`].find(
      (k) => copied.get(k)?.metadata.uid === ref.uid,
    );
    if (!key) continue;
    const owner: PlannedOwner = { key, apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
    const block = (ref as { blockOwnerDeletion?: unknown }).blockOwnerDeletion;
    owners.push(typeof block === 'boolean' ? { ...owner, blockOwnerDeletion: block } : owner);
  }
  return owners;
}

function isBound(o: KubeObject): boolean {
  return Boolean(str(at(o, 'spec', 'volumeName'))) || at(o, 'status', 'phase') === 'Bound';
}

/** Claims in scope with data in A that B does not get: copied claims (B provisions them empty), StatefulSet claims, and dynamic volumes left without a claim. */
function uncopiedVolumes(
  chosen: Iterable<KubeObject>,
  context: {
    index: ClusterIndex;
    reasonOf: (o: KubeObject) => string | undefined;
    copied: ReadonlyMap<string, KubeObject>;
    copiedVolumes: ReadonlySet<string>;
  },
): UncopiedVolume[] {
  const volumes: UncopiedVolume[] = [];
  const claimsCounted = new Set<string>();
  const dynamicVolumes: KubeObject[] = [];
  for (const o of chosen) {
    if (o.kind === 'PersistentVolume' && o.apiVersion === 'v1') {
      if (o.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] && !o.metadata.deletionTimestamp)
        dynamicVolumes.push(o);
      continue;
    }
    if (o.kind !== 'PersistentVolumeClaim' || o.apiVersion !== 'v1' || !isBound(o)) continue;
    if (context.copiedVolumes.has(str(at(o, 'spec', 'volumeName')) ?? '')) continue;
    const size =
      str(at(o, 'status', 'capacity', 'storage')) ?? str(at(o, 'spec', 'resources', 'requests', 'storage'));
    const statefulSet = statefulSetOfClaim(o, context.index);
    const owner = o.metadata.ownerReferences?.find((r) => r.controller === true);
    let reason: string | undefined;
    if (context.copied.has(objectKey(o))) reason = 'copied claim: B provisions an empty volume';
    else if (statefulSet) reason = `StatefulSet ${statefulSet} creates it empty in B`;
    else if (owner && !context.reasonOf(o)?.startsWith('being deleted'))
      reason = `${owner.kind} ${owner.name} creates it empty in B`;
    if (!reason) continue;
    claimsCounted.add(`${o.metadata.namespace}/${o.metadata.name}`);
    volumes.push(size ? { ref: refOf(o), size, reason } : { ref: refOf(o), reason });
  }
  for (const pv of dynamicVolumes) {
    const claim = `${str(at(pv, 'spec', 'claimRef', 'namespace')) ?? ''}/${str(at(pv, 'spec', 'claimRef', 'name')) ?? ''}`;
    if (claimsCounted.has(claim) || context.copiedVolumes.has(pv.metadata.name ?? '')) continue;
    const size = str(at(pv, 'spec', 'capacity', 'storage'));
    const reason = 'dynamically provisioned volume: not copied';
    volumes.push(size ? { ref: refOf(pv), size, reason } : { ref: refOf(pv), reason });
  }
  return volumes.sort((a, b) =>
    formatRef(a.ref) < formatRef(b.ref) ? -1 : formatRef(a.ref) > formatRef(b.ref) ? 1 : 0,
  );
}

function countByKind(objects: readonly PlannedObject[], skipped: readonly SkippedObject[]): KindCount[] {
  const counts = new Map<string, { planned: number; inTarget: number; skipped: number; wave: number }>();
  const row = (group: string, kind: string) => {
    const label = groupKind(group, kind);
    const found = counts.get(label) ?? { planned: 0, inTarget: 0, skipped: 0, wave: waveOf(group, kind) };
    counts.set(label, found);
    return found;
  };
  for (const o of objects) {
    const r = row(o.ref.group, o.ref.kind);
    r.planned++;
    if (o.current) r.inTarget++;
  }
  for (const s of skipped) row(s.ref.group, s.ref.kind).skipped++;
  return [...counts.entries()]
    .sort(([a, x], [b, y]) => x.wave - y.wave || (a < b ? -1 : 1))
    .map(([kind, { planned, inTarget, skipped: s }]) => ({ kind, planned, inTarget, skipped: s }));
}

/** Planned objects split into creation waves, in order. */
export function planWaves(objects: readonly PlannedObject[]): PlannedObject[][] {
  const waves = new Map<number, PlannedObject[]>();
  for (const o of objects) {
    const wave = waves.get(o.wave);
    if (wave) wave.push(o);
    else waves.set(o.wave, [o]);
  }
  return [...waves.entries()].sort(([a], [b]) => a - b).map(([, items]) => items);
}
