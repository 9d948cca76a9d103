/** Checks of replicated workloads: replicas behind Services, disruption budgets, zones, zonal volumes. */
import { isRecord, num, str } from '../shared/index.js';
import { nsOf, renderedNamed, servicesOf, type AuditContext } from './context.js';
import { dig, matchesSelector, selectorOf, strings, type Json, type Workload } from './pods.js';
import type { RawFinding } from './raw.js';

export const ZONE_KEYS = new Set(['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone']);
const ZONE_LABEL = 'topology.kubernetes.io/zone';

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function hasHpa(context: AuditContext, workload: Workload): boolean {
  return (context.byKind.get('HorizontalPodAutoscaler') ?? []).some(
    (o) =>
      dig(o.object, ['spec', 'scaleTargetRef', 'kind']) === workload.object.kind &&
      dig(o.object, ['spec', 'scaleTargetRef', 'name']) === workload.object.metadata.name,
  );
}

export function checkReplicas(context: AuditContext, workload: Workload): RawFinding[] {
  const out: RawFinding[] = [];
  const { replicas, object } = workload;
  if (replicas === undefined || hasHpa(context, workload)) return out;
  const name = `${object.kind}/${object.metadata.name ?? ''}`;
  const replicasPath = dig(object, ['spec', 'replicas']) === undefined ? ['spec'] : ['spec', 'replicas'];
  const services = servicesOf(context, workload);
  if (replicas === 1 && services.length > 0)
    out.push({
      check: 'single-replica',
      target: workload.rendered,
      path: replicasPath,
      message: `${name} runs 1 replica behind Service ${services[0].object.metadata.name ?? ''}: every rollout, eviction or node failure interrupts it`,
      hint: 'run 2 or more replicas (with a PodDisruptionBudget)',
    });
  if (replicas >= 2 && (object.kind === 'Deployment' || object.kind === 'StatefulSet')) {
    const ns = nsOf(context, workload.rendered);
    const budget = (context.byKind.get('PodDisruptionBudget') ?? []).some((o) => {
      if (nsOf(context, o) !== ns) return false;
      const selector = selectorOf(dig(o.object, ['spec', 'selector']));
      return selector !== undefined && matchesSelector(selector, workload.labels);
    });
    if (!budget)
      out.push({
        check: 'pdb-missing',
        target: workload.rendered,
        path: replicasPath,
        message: `${name} has ${replicas} replicas and no PodDisruptionBudget: a node drain may evict all of them at once`,
        hint: 'add a PodDisruptionBudget selecting its pods (e.g. minAvailable: 1 or maxUnavailable: 1)',
      });
  }
  return out;
}

interface ZoneRule {
  readonly path: readonly string[];
  readonly hard: boolean;
  /** Most matching pods one zone may hold when the cluster has fewer zones than asked for (or per zone for anti-affinity). */
  readonly perZone: number;
  readonly minDomains?: number;
  readonly antiAffinity: boolean;
}

/** The zone spreading a pod template asks for: topology spread constraints and pod anti-affinity on a zone key. */
export function zoneRules(workload: Workload): ZoneRule[] {
  const rules: ZoneRule[] = [];
  const spec = [...workload.podPath, 'spec'];
  array(workload.spec['topologySpreadConstraints']).forEach((c, index) => {
    if (!isRecord(c) || !ZONE_KEYS.has(str(c['topologyKey']) ?? '')) return;
    const selector = selectorOf(c['labelSelector']);
    const selfMatch = selector !== undefined && matchesSelector(selector, workload.labels);
    rules.push({
      path: [...spec, 'topologySpreadConstraints', String(index)],
      hard: c['whenUnsatisfiable'] !== 'ScheduleAnyway' && selfMatch,
      perZone: num(c['maxSkew']) ?? 1,
      ...(num(c['minDomains']) === undefined ? {} : { minDomains: num(c['minDomains']) }),
      antiAffinity: false,
    });
  });
  const anti = dig(workload.spec, ['affinity', 'podAntiAffinity']);
  array(dig(anti, ['requiredDuringSchedulingIgnoredDuringExecution'])).forEach((term, index) => {
    if (!isRecord(term) || !ZONE_KEYS.has(str(term['topologyKey']) ?? '')) return;
    const selector = selectorOf(term['labelSelector']);
    rules.push({
      path: [
        ...spec,
        'affinity',
        'podAntiAffinity',
        'requiredDuringSchedulingIgnoredDuringExecution',
        String(index),
      ],
      hard: selector !== undefined && matchesSelector(selector, workload.labels),
      perZone: 1,
      antiAffinity: true,
    });
  });
  array(dig(anti, ['preferredDuringSchedulingIgnoredDuringExecution'])).forEach((term, index) => {
    if (!ZONE_KEYS.has(str(dig(term, ['podAffinityTerm', 'topologyKey'])) ?? '')) return;
    rules.push({
      path: [
        ...spec,
        'affinity',
        'podAntiAffinity',
        'preferredDuringSchedulingIgnoredDuringExecution',
        String(index),
      ],
      hard: false,
      perZone: 1,
      antiAffinity: true,
    });
  });
  return rules;
}

/** Zones of the nodes the pod template may use (its nodeSelector), or undefined when the nodes are unknown. */
function zonesFor(context: AuditContext, workload: Workload): string[] | undefined {
  const nodes = context.snapshot?.nodes;
  if (!nodes) return undefined;
  const nodeSelector = strings(workload.spec['nodeSelector']);
  const zones = new Set<string>();
  for (const node of nodes) {
    if (!Object.entries(nodeSelector).every(([k, v]) => node.labels[k] === v)) continue;
    const zone = node.labels[ZONE_LABEL] ?? node.labels['failure-domain.beta.kubernetes.io/zone'];
    if (zone !== undefined) zones.add(zone);
  }
  return [...zones].sort();
}

export function checkZoneSpread(context: AuditContext, workload: Workload): RawFinding[] {
  const { replicas, object } = workload;
  if (replicas === undefined || replicas < 2) return [];
  const name = `${object.kind}/${object.metadata.name ?? ''}`;
  const rules = zoneRules(workload);
  const zones = zonesFor(context, workload);
  if (zones === undefined)
    context.skip(
      'zone-spread',
      context.snapshot?.unavailable?.nodes ?? "no cluster access: the nodes' zones are unknown",
    );
  if (rules.length === 0) {
    // Nothing to spread over: one zone (or none) in the cluster.
    if (zones !== undefined && zones.length < 2) return [];
    return [
      {
        check: 'zone-spread',
        target: workload.rendered,
        path: dig(object, ['spec', 'replicas']) === undefined ? ['spec'] : ['spec', 'replicas'],
        message: `${name} runs ${replicas} replicas with no zone spread${zones ? ` over the cluster's ${zones.length} zones` : ''}: a zone outage may take all of them`,
        hint: `add a topologySpreadConstraint on ${ZONE_LABEL} (maxSkew: 1, whenUnsatisfiable: ScheduleAnyway) selecting its pods`,
      },
    ];
  }
  if (zones === undefined) return [];
  const out: RawFinding[] = [];
  for (const rule of rules) {
    if (!rule.hard) continue;
    const nodeSelector =
      Object.keys(strings(workload.spec['nodeSelector'])).length > 0 ? ' matching its nodeSelector' : '';
    let problem: string | undefined;
    if (zones.length === 0) problem = `no node${nodeSelector} carries ${ZONE_LABEL}, so no pod can be placed`;
    else if (rule.antiAffinity && replicas > zones.length)
      problem = `required anti-affinity allows one pod per zone, and the nodes${nodeSelector} carry ${zones.length} zone(s) (${zones.join(', ')}): ${replicas - zones.length} of ${replicas} pods can never be placed`;
    else if (
      !rule.antiAffinity &&
      rule.minDomains !== undefined &&
      rule.minDomains > zones.length &&
      replicas > rule.perZone * zones.length
    )
      problem = `minDomains: ${rule.minDomains} asks for more zones than the nodes${nodeSelector} carry (${zones.length}: ${zones.join(', ')}), so each zone takes at most maxSkew (${rule.perZone}) pods: ${replicas - rule.perZone * zones.length} of ${replicas} pods can never be placed`;
    if (problem)
      out.push({
        check: 'zone-spread',
        target: workload.rendered,
        path: rule.path,
        severity: 'error',
        blocking: true,
        message: `${name}: ${problem}`,
        hint: rule.antiAffinity
          ? 'use a topologySpreadConstraint (maxSkew: 1) instead of required anti-affinity, or fewer replicas'
          : 'lower minDomains to the number of zones, use whenUnsatisfiable: ScheduleAnyway, or add nodes in more zones',
      });
  }
  return out;
}

export function checkVolumeZones(context: AuditContext, workload: Workload): RawFinding[] {
  if (zoneRules(workload).length === 0) return [];
  const claims: { path: readonly string[]; className?: string; claim: string }[] = [];
  const ns = nsOf(context, workload.rendered);
  array(dig(workload.object, ['spec', 'volumeClaimTemplates'])).forEach((template, index) => {
    claims.push({
      path: ['spec', 'volumeClaimTemplates', String(index)],
      claim: str(dig(template, ['metadata', 'name'])) ?? String(index),
      ...(str(dig(template, ['spec', 'storageClassName']))
        ? { className: str(dig(template, ['spec', 'storageClassName'])) }
        : {}),
    });
  });
  array(workload.spec['volumes']).forEach((volume, index) => {
    const claimName = str(dig(volume, ['persistentVolumeClaim', 'claimName']));
    if (!claimName) return;
    const pvc = renderedNamed(context, 'PersistentVolumeClaim', ns, claimName);
    if (!pvc) return; // an existing claim is already bound (or not ours to judge)
    const className = str(dig(pvc.object, ['spec', 'storageClassName']));
    claims.push({
      path: [...workload.podPath, 'spec', 'volumes', String(index), 'persistentVolumeClaim', 'claimName'],
      claim: claimName,
      ...(className ? { className } : {}),
    });
  });
  const out: RawFinding[] = [];
  for (const claim of claims) {
    const mode = bindingMode(context, claim.className);
    if (mode === 'unknown') {
      context.skip(
        'pvc-zone-binding',
        context.snapshot?.unavailable?.storageClasses ?? 'no cluster access: the StorageClasses are unknown',
      );
      continue;
    }
    if (mode === undefined || mode.mode === 'WaitForFirstConsumer') continue;
    out.push({
      check: 'pvc-zone-binding',
      target: workload.rendered,
      path: claim.path,
      message: `claim ${claim.claim} uses StorageClass ${mode.name} (volumeBindingMode ${mode.mode}), which creates the volume before the pod is placed: a zonal volume may land in a zone the spread sends the pod away from, and the pod never starts`,
      hint: `use a StorageClass with volumeBindingMode: WaitForFirstConsumer`,
    });
  }
  return out;
}

/** The binding mode of a class (the default class when unnamed); 'unknown' when the classes could not be read. */
function bindingMode(
  context: AuditContext,
  className: string | undefined,
): { name: string; mode: string } | undefined | 'unknown' {
  const rendered = (context.byKind.get('StorageClass') ?? []).map((o) => ({
    name: o.object.metadata.name ?? '',
    volumeBindingMode: str((o.object as Json)['volumeBindingMode']),
    isDefault: o.object.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  }));
  const classes = [...rendered, ...(context.snapshot?.storageClasses ?? [])];
  const found =
    className === undefined ? classes.find((c) => c.isDefault) : classes.find((c) => c.name === className);
  if (!found) return context.snapshot?.storageClasses ? undefined : 'unknown';
  return { name: found.name, mode: found.volumeBindingMode ?? 'Immediate' };
}
