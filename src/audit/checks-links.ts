/** Checks of what objects name: Services' pods, Ingress backends, pods' references, scrape ports. */
import type { RenderedObject } from '../render/index.js';
import { isRecord, list, str } from '../shared/index.js';
import { liveUnknown, nsOf, renderedNamed, type AuditContext } from './context.js';
import { containersOf, dig, matchesLabels, strings, type Workload } from './pods.js';
import type { RawFinding } from './raw.js';

const SCRAPE = 'prometheus.io/scrape';
const SCRAPE_PORT = 'prometheus.io/port';

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

export function checkScrape(workload: Workload): RawFinding[] {
  const onObject = workload.object.metadata.annotations ?? {};
  const podAnnotations = workload.annotations;
  const fromPod = SCRAPE in podAnnotations || SCRAPE_PORT in podAnnotations;
  const annotations = fromPod ? podAnnotations : onObject;
  if (!(SCRAPE in annotations) && !(SCRAPE_PORT in annotations)) return [];
  const base = fromPod ? [...workload.podPath, 'metadata', 'annotations'] : ['metadata', 'annotations'];
  const ports = containersOf(workload)
    .filter((c) => !c.init)
    .flatMap((c) => list(c.container['ports']));
  const numbers = new Set(ports.map((p) => String(p['containerPort'])));
  const names = new Set(ports.map((p) => str(p['name'])).filter((n) => n !== undefined));
  const port = annotations[SCRAPE_PORT];
  const name = `${workload.object.kind}/${workload.object.metadata.name ?? ''}`;
  if (port !== undefined && !numbers.has(port) && !names.has(port))
    return [
      {
        check: 'scrape-annotations',
        target: workload.rendered,
        path: [...base, SCRAPE_PORT],
        message: `${SCRAPE_PORT}: "${port}" names no port of ${name}'s containers (${[...numbers].join(', ') || 'none'}): Prometheus scrapes nothing there`,
        hint: `set ${SCRAPE_PORT} to the metrics port's number and declare it in the container's ports`,
      },
    ];
  if (annotations[SCRAPE] === 'true' && ports.length === 0)
    return [
      {
        check: 'scrape-annotations',
        target: workload.rendered,
        path: [...base, SCRAPE],
        message: `${name} asks to be scraped but its containers expose no port`,
        hint: `declare the metrics port in the container's ports and name it in ${SCRAPE_PORT}`,
      },
    ];
  return [];
}

export function checkService(context: AuditContext, service: RenderedObject): RawFinding[] {
  const selector = strings(dig(service.object, ['spec', 'selector']));
  if (Object.keys(selector).length === 0) return [];
  const ns = nsOf(context, service);
  const rendered = context.workloads.some(
    (w) => nsOf(context, w.rendered) === ns && matchesLabels(selector, w.labels),
  );
  if (rendered) return [];
  const unknown = liveUnknown(context);
  if (unknown) {
    context.skip(
      'service-selects-nothing',
      `${unknown}: Services that select no rendered pod were not checked against live pods`,
    );
    return [];
  }
  if (context.snapshot?.live?.podLabels.some((labels) => matchesLabels(selector, labels))) return [];
  const text = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [
    {
      check: 'service-selects-nothing',
      target: service,
      path: ['spec', 'selector'],
      message: `Service ${service.object.metadata.name ?? ''} selects ${text}, which matches no rendered pod template and no pod in namespace ${ns}: it has no endpoints`,
      hint: "make the selector match the pod template's labels",
    },
  ];
}

interface Backend {
  readonly path: readonly string[];
  readonly service: string;
  readonly port: { name?: string; number?: number };
}

function backendsOf(ingress: RenderedObject): Backend[] {
  const out: Backend[] = [];
  const add = (backend: unknown, path: readonly string[]) => {
    const service = str(dig(backend, ['service', 'name']));
    if (!service) return;
    const name = str(dig(backend, ['service', 'port', 'name']));
    const number = dig(backend, ['service', 'port', 'number']);
    out.push({
      path: [...path, 'service', 'name'],
      service,
      port: { ...(name ? { name } : {}), ...(typeof number === 'number' ? { number } : {}) },
    });
  };
  add(dig(ingress.object, ['spec', 'defaultBackend']), ['spec', 'defaultBackend']);
  array(dig(ingress.object, ['spec', 'rules'])).forEach((rule, r) =>
    array(dig(rule, ['http', 'paths'])).forEach((p, i) =>
      add(dig(p, ['backend']), ['spec', 'rules', String(r), 'http', 'paths', String(i), 'backend']),
    ),
  );
  return out;
}

export function checkIngress(context: AuditContext, ingress: RenderedObject): RawFinding[] {
  const ns = nsOf(context, ingress);
  const out: RawFinding[] = [];
  for (const backend of backendsOf(ingress)) {
    const rendered = renderedNamed(context, 'Service', ns, backend.service);
    let ports: { name?: string; port: number }[] | undefined;
    if (rendered)
      ports = list(dig(rendered.object, ['spec', 'ports'])).map((p) => ({
        ...(str(p['name']) ? { name: str(p['name']) } : {}),
        port: Number(p['port']),
      }));
    else {
      const unknown = liveUnknown(context);
      if (unknown) {
        context.skip(
          'ingress-backend-missing',
          `${unknown}: backends that are not rendered were not looked up`,
        );
        continue;
      }
      ports = context.snapshot?.live?.services
        .find((s) => s.name === backend.service)
        ?.ports.map((p) => ({ ...p }));
    }
    const name = ingress.object.metadata.name ?? '';
    if (!ports) {
      out.push({
        check: 'ingress-backend-missing',
        target: ingress,
        path: backend.path,
        message: `Ingress ${name} routes to Service ${backend.service}, which is neither rendered nor in namespace ${ns}: requests get 503`,
        hint: `render Service ${backend.service}, or correct the backend's name`,
      });
      continue;
    }
    const { name: portName, number } = backend.port;
    const found = ports.some((p) => (portName !== undefined ? p.name === portName : p.port === number));
    if ((portName !== undefined || number !== undefined) && !found)
      out.push({
        check: 'ingress-backend-missing',
        target: ingress,
        path: [...backend.path.slice(0, -1), 'port'],
        message: `Ingress ${name} routes to port ${portName ?? number} of Service ${backend.service}, which has no such port (${ports.map((p) => p.name ?? p.port).join(', ') || 'none'})`,
        hint: "name one of the Service's ports in the backend",
      });
  }
  return out;
}

type RefKind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'ServiceAccount';

interface Reference {
  readonly kind: RefKind;
  readonly name: string;
  readonly path: readonly string[];
  readonly what: string;
}

/** What a pod template uses by name, leaving out references marked optional. */
export function referencesOf(workload: Workload): Reference[] {
  const refs: Reference[] = [];
  const spec = [...workload.podPath, 'spec'];
  const add = (kind: RefKind, holder: unknown, field: string, path: readonly string[], what: string) => {
    if (!isRecord(holder) || holder['optional'] === true) return;
    const name = str(holder[field]);
    if (name) refs.push({ kind, name, path: [...path, field], what });
  };
  for (const { container, path } of containersOf(workload)) {
    const cname = str(container['name']) ?? '?';
    array(container['env']).forEach((env, i) => {
      const at = [...path, 'env', String(i), 'valueFrom'];
      add(
        'ConfigMap',
        dig(env, ['valueFrom', 'configMapKeyRef']),
        'name',
        [...at, 'configMapKeyRef'],
        `container ${cname}'s env`,
      );
      add(
        'Secret',
        dig(env, ['valueFrom', 'secretKeyRef']),
        'name',
        [...at, 'secretKeyRef'],
        `container ${cname}'s env`,
      );
    });
    array(container['envFrom']).forEach((from, i) => {
      const at = [...path, 'envFrom', String(i)];
      add(
        'ConfigMap',
        dig(from, ['configMapRef']),
        'name',
        [...at, 'configMapRef'],
        `container ${cname}'s envFrom`,
      );
      add('Secret', dig(from, ['secretRef']), 'name', [...at, 'secretRef'], `container ${cname}'s envFrom`);
    });
  }
  array(workload.spec['volumes']).forEach((volume, i) => {
    const at = [...spec, 'volumes', String(i)];
    const vname = `volume ${str(dig(volume, ['name'])) ?? i}`;
    add('ConfigMap', dig(volume, ['configMap']), 'name', [...at, 'configMap'], vname);
    add('Secret', dig(volume, ['secret']), 'secretName', [...at, 'secret'], vname);
    add(
      'PersistentVolumeClaim',
      dig(volume, ['persistentVolumeClaim']),
      'claimName',
      [...at, 'persistentVolumeClaim'],
      vname,
    );
    array(dig(volume, ['projected', 'sources'])).forEach((source, j) => {
      const sat = [...at, 'projected', 'sources', String(j)];
      add('ConfigMap', dig(source, ['configMap']), 'name', [...sat, 'configMap'], vname);
      add('Secret', dig(source, ['secret']), 'name', [...sat, 'secret'], vname);
    });
  });
  const account = str(workload.spec['serviceAccountName']);
  if (account && account !== 'default')
    refs.push({
      kind: 'ServiceAccount',
      name: account,
      path: [...spec, 'serviceAccountName'],
      what: 'the pod',
    });
  array(workload.spec['imagePullSecrets']).forEach((ref, i) =>
    add('Secret', ref, 'name', [...spec, 'imagePullSecrets', String(i)], 'imagePullSecrets'),
  );
  // StatefulSet claims made from volumeClaimTemplates exist once the pods do.
  const templates = new Set(
    array(dig(workload.object, ['spec', 'volumeClaimTemplates'])).map((t) =>
      str(dig(t, ['metadata', 'name'])),
    ),
  );
  return refs.filter((r) => !(r.kind === 'PersistentVolumeClaim' && templates.has(r.name)));
}

const LIVE_FIELD = {
  ConfigMap: 'configMaps',
  Secret: 'secrets',
  PersistentVolumeClaim: 'persistentVolumeClaims',
  ServiceAccount: 'serviceAccounts',
} as const;

export function checkReferences(context: AuditContext, workload: Workload): RawFinding[] {
  const ns = nsOf(context, workload.rendered);
  const out: RawFinding[] = [];
  const name = `${workload.object.kind}/${workload.object.metadata.name ?? ''}`;
  for (const ref of referencesOf(workload)) {
    if (renderedNamed(context, ref.kind, ns, ref.name)) continue;
    const unknown = liveUnknown(context);
    if (unknown || ns !== context.namespace) {
      context.skip(
        'reference-missing',
        `${unknown ?? `namespace ${ns} was not read`}: references to objects that are not rendered were not looked up`,
      );
      continue;
    }
    if (context.snapshot?.live?.[LIVE_FIELD[ref.kind]].includes(ref.name)) continue;
    out.push({
      check: 'reference-missing',
      target: workload.rendered,
      path: ref.path,
      // Without a pull Secret a public image still starts; the others stop the pods for certain.
      ...(ref.what === 'imagePullSecrets' ? {} : { blocking: true }),
      message: `${name}: ${ref.what} uses ${ref.kind} ${ref.name}, which is neither rendered nor in namespace ${ns}: the pods ${ref.kind === 'ServiceAccount' ? 'are refused by the ReplicaSet controller' : 'cannot start'}`,
      hint: `render ${ref.kind} ${ref.name} (or create it), correct the name${ref.kind === 'ConfigMap' || ref.kind === 'Secret' ? ', or mark the reference optional: true' : ''}`,
    });
  }
  return out;
}
