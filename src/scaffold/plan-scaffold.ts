// The files of a new deploy tree, from `capstan init`'s flags: pure, so tests read them as a map.
import { stringify } from 'yaml';
import { encryptEjson, KUBERNETES_SECRETS_FIELD, PUBLIC_KEY_FIELD } from '../secrets/index.js';
import type { RandomBytes } from '../secrets/index.js';
import { CapstanError } from '../shared/index.js';

export interface ScaffoldOptions {
  readonly app: string;
  /** Written to capstan.yaml when given; otherwise each deploy passes --image. */
  readonly image?: string;
  /** The web server's command, as one shell-like line. */
  readonly web?: string;
  readonly port: number;
  readonly workers: readonly string[];
  readonly migrate?: string;
  readonly envs: readonly string[];
  readonly ingressHost?: string;
}

export interface ScaffoldPlan {
  /** Path under the application folder (`.deploy/...`) -> content. */
  readonly files: ReadonlyMap<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Splits a command line into words the way a POSIX shell quotes them (no expansions). */
export function parseCommand(line: string, flag: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]))
        word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote)
    throw new CapstanError('ERR_CAPSTAN_USAGE', `${flag}: the quote ${quote} is never closed in "${line}"`);
  if (word !== undefined) words.push(word);
  if (words.length === 0) throw new CapstanError('ERR_CAPSTAN_USAGE', `${flag}: the command is empty`);
  return words;
}

/** Every problem with the flags at once, as one usage error (exit 2). */
export function validateScaffoldOptions(options: ScaffoldOptions): void {
  const problems: string[] = [];
  if (!DNS_LABEL.test(options.app) || options.app.length > 40)
    problems.push(
      `--app "${options.app}" is not a name of lowercase letters, digits and "-" of at most 40 characters`,
    );
  if (options.envs.length === 0) problems.push('--envs names no environment');
  for (const env of options.envs)
    if (!DNS_LABEL.test(env) || env.length > 20)
      problems.push(`environment "${env}" is not a name of lowercase letters, digits and "-" (at most 20)`);
  if (new Set(options.envs).size !== options.envs.length) problems.push('--envs names an environment twice');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
    problems.push(`--port ${options.port} is not a port number (1-65535)`);
  if (options.ingressHost !== undefined && !HOST.test(options.ingressHost))
    problems.push(`--ingress-host "${options.ingressHost}" is not a host name`);
  if (options.ingressHost !== undefined && options.web === undefined)
    problems.push('--ingress-host needs --web: the Ingress routes to the web server');
  if (options.web === undefined && options.workers.length === 0 && options.migrate === undefined)
    problems.push('nothing to deploy: give --web, --worker or --migrate');
  if (problems.length > 0)
    throw new CapstanError('ERR_CAPSTAN_USAGE', problems.join('; '), {
      hint: 'capstan init --app NAME --image REF --web CMD --port N --envs staging,production',
    });
}

/** `worker` for one worker, `worker-1`, `worker-2`, ... for several. */
function workerNames(count: number): string[] {
  return count === 1 ? ['worker'] : Array.from({ length: count }, (_, i) => `worker-${i + 1}`);
}

function capstanYaml(options: ScaffoldOptions): string {
  const workers = Object.fromEntries(
    workerNames(options.workers.length).map((name, i) => [
      name,
      { replicas: 1, command: parseCommand(options.workers[i], '--worker') },
    ]),
  );
  const values = {
    port: options.port,
    healthPath: '/healthz',
    ...(options.web === undefined
      ? {}
      : { web: { replicas: 2, command: parseCommand(options.web, '--web') } }),
    ...(options.workers.length === 0 ? {} : { workers }),
    ...(options.migrate === undefined
      ? {}
      : { migrate: { command: parseCommand(options.migrate, '--migrate') } }),
    ...(options.ingressHost === undefined ? {} : { host: options.ingressHost }),
    config: { LOG_LEVEL: 'info' },
  };
  const config = {
    app: options.app,
    ...(options.image === undefined ? {} : { image: options.image }),
    values,
    environments: Object.fromEntries(
      options.envs.map((env) => [env, { namespace: `${options.app}-${env}` }]),
    ),
    releases: { keep: 10 },
    deploy: { timeout: '10m' },
  };
  return `# Written by capstan init. Values merge: values < environments.ENV.values < --set.
# Deploy with: capstan deploy ENV${options.image === undefined ? ' --image REF' : ''}
${stringify(config, { lineWidth: 0 })}`;
}

const SELECTOR = `app.kubernetes.io/name: <%= app %>
        app.kubernetes.io/component: <%= name %>`;

/** The pod spec's habits, shared by every Deployment and the migration Job through this partial. */
const POD_PARTIAL = `<%#
  The pod template of every workload capstan init wrote. Variables: name, command (list), and
  port for a server: probes on it, Prometheus scrape annotations, the port named http.
  Non-root, read-only root filesystem (a writable /tmp), no privilege escalation, no capabilities.
-%>
    metadata:
      labels:
        app.kubernetes.io/name: <%= app %>
        app.kubernetes.io/component: <%= name %>
<% if (locals.port) { -%>
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "<%= port %>"
        prometheus.io/path: /metrics
<% } -%>
    spec:
<% if (locals.restartPolicy) { -%>
      restartPolicy: <%= restartPolicy %>
<% } -%>
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
<% if (!locals.restartPolicy) { -%>
      # Replicas spread over the zones the nodes carry; ScheduleAnyway, so one zone down still schedules.
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: <%= app %>
              app.kubernetes.io/component: <%= name %>
<% } -%>
      containers:
        - name: <%= name %>
          image: <%= image %>
          command: <%- JSON.stringify(command) %>
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
<% if (locals.port) { -%>
          ports:
            - name: http
              containerPort: <%= port %>
          env:
            - name: PORT
              value: "<%= port %>"
          readinessProbe:
            httpGet:
              path: <%= values.healthPath %>
              port: http
            periodSeconds: 5
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: <%= values.healthPath %>
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
<% } -%>
          envFrom:
            - configMapRef:
                name: <%= app %>-config
            - secretRef:
                name: <%= app %>-secrets
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 256Mi
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
`;

const DEPLOYMENT_PARTIAL = `<%#
  A Deployment of the app's image. Variables: name, command (list), replicas, optional port.
-%>
apiVersion: apps/v1
kind: Deployment
metadata:
  name: <%= name %>
  labels:
    ${SELECTOR.replace('        ', '    ')}
spec:
  replicas: <%= replicas %>
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      ${SELECTOR.replace('        ', '      ')}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
<%- include('pod', { name, command, port: locals.port }) -%>
`;

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: <%= app %>-config
  labels:
    app.kubernetes.io/name: <%= app %>
data:
  APP_ENV: <%= JSON.stringify(env) %>
<% for (const [key, value] of Object.entries(values.config).sort()) { -%>
  <%= key %>: <%- JSON.stringify(String(value)) %>
<% } -%>
`;

const MIGRATE_JOB = `<%# Runs with the NEW image and configuration before the Deployments change; it must succeed. -%>
apiVersion: batch/v1
kind: Job
metadata:
  name: db-migrate
  labels:
    app.kubernetes.io/name: <%= app %>
    app.kubernetes.io/component: db-migrate
spec:
  backoffLimit: 1
  activeDeadlineSeconds: 600
  template:
<%- include('pod', { name: 'db-migrate', command: values.migrate.command, restartPolicy: 'Never' }) -%>
`;

const WEB_LABELS = `app.kubernetes.io/name: <%= app %>
    app.kubernetes.io/component: web`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    ${WEB_LABELS}
spec:
  selector:
    ${WEB_LABELS}
  ports:
    - name: http
      port: 80
      targetPort: http
`;

const PDB = `# A node drain takes the web pods one at a time.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  labels:
    ${WEB_LABELS}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      ${WEB_LABELS.replace('    ', '      ')}
`;

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  labels:
    ${WEB_LABELS}
spec:
  rules:
    - host: <%= values.host %>
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  name: http
`;

/** secrets.ejson: one Secret `<app>-secrets` holding a generated SECRET_KEY_BASE, encrypted to `publicKey`. */
function secretsEjson(
  app: string,
  publicKey: string,
  secretKeyBase: string,
  randomBytes?: RandomBytes,
): string {
  const doc = {
    [PUBLIC_KEY_FIELD]: publicKey,
    [KUBERNETES_SECRETS_FIELD]: {
      [`${app}-secrets`]: { _type: 'Opaque', data: { SECRET_KEY_BASE: secretKeyBase } },
    },
  };
  return encryptEjson(`${JSON.stringify(doc, null, 2)}\n`, randomBytes ? { randomBytes } : {});
}

function environmentFiles(options: ScaffoldOptions, secrets: string): Array<[string, string]> {
  const files: Array<[string, string]> = [
    ['10-configuration/app.configmap.yaml.ejs', CONFIGMAP],
    ['10-configuration/secrets.ejson', secrets],
  ];
  if (options.migrate !== undefined) files.push(['20-predeployment/db-migrate.job.yaml.ejs', MIGRATE_JOB]);
  if (options.web !== undefined)
    files.push(
      [
        '30-deployment/web.deployment.yaml.ejs',
        `<%- include('deployment', { name: 'web', command: values.web.command, replicas: values.web.replicas, port: values.port }) %>\n`,
      ],
      ['30-deployment/web.service.yaml.ejs', SERVICE],
      ['30-deployment/web.pdb.yaml.ejs', PDB],
    );
  if (options.ingressHost !== undefined) files.push(['30-deployment/web.ingress.yaml.ejs', INGRESS]);
  for (const name of workerNames(options.workers.length)) {
    const worker = `values.workers[${JSON.stringify(name)}]`;
    files.push([
      `30-deployment/${name}.deployment.yaml.ejs`,
      `<%- include('deployment', { name: ${JSON.stringify(name)}, command: ${worker}.command, replicas: ${worker}.replicas }) %>\n`,
    ]);
  }
  return files;
}

/**
 * The files of the deploy tree. `publicKey` is the ejson key pair's (its private key is the
 * caller's to store); `secretKeyBase` the generated secret; `randomBytes` makes encryption repeatable in tests.
 */
export function planScaffold(
  options: ScaffoldOptions,
  secrets: { readonly publicKey: string; readonly secretKeyBase: string; readonly randomBytes?: RandomBytes },
): ScaffoldPlan {
  validateScaffoldOptions(options);
  const files = new Map<string, string>();
  files.set('.deploy/capstan.yaml', capstanYaml(options));
  files.set('.deploy/templates/pod.yaml.ejs', POD_PARTIAL);
  files.set('.deploy/templates/deployment.yaml.ejs', DEPLOYMENT_PARTIAL);
  for (const env of options.envs) {
    const ejson = secretsEjson(options.app, secrets.publicKey, secrets.secretKeyBase, secrets.randomBytes);
    for (const [path, content] of environmentFiles(options, ejson))
      files.set(`.deploy/${env}/${path}`, content);
  }
  return { files };
}
