// capstan.yaml `previews.protect` (pure): basic auth and `X-Robots-Tag: noindex` in front of every
// Ingress of a preview, for the ingress controller named. The objects it needs (the htpasswd
// Secret, the headers ConfigMap or Traefik's Middlewares) are the preview's own, made before its
// deploy; the Ingresses get the annotations as they are rendered. docs/previews.md, per controller.
import { createHash, randomBytes } from 'node:crypto';
import type { PreviewProtectConfig } from '../config/index.js';
import type { KubeObject } from '../shared/index.js';

export const AUTH_SECRET = 'capstan-preview-auth';
export const HEADERS_CONFIG_MAP = 'capstan-preview-headers';
export const NOINDEX_MIDDLEWARE = 'capstan-preview-noindex';
export const DEFAULT_USER = 'preview';
export const ROBOTS_HEADER = { name: 'X-Robots-Tag', value: 'noindex, nofollow' } as const;
/** The label of every object `capstan preview` makes besides the deploy (quota, limits, protection). */
export const PREVIEW_PART_LABEL = 'capstan.dev/preview-part';

/** A generated password: 24 characters of [A-Za-z0-9] (about 143 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < 24) {
    // Rejection sampling: bytes of 248 and above would favour the first letters.
    for (const byte of randomBytes(32)) if (byte < 248 && out.length < 24) out += alphabet[byte % 62];
  }
  return out;
}

/** One htpasswd line in the `{SHA}` scheme, which both nginx and Traefik read. */
export function htpasswdLine(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`;
}

/** The annotations an Ingress of a preview gets for its controller. */
export function ingressAnnotations(protect: PreviewProtectConfig, namespace: string): Record<string, string> {
  if (protect.ingress === 'nginx')
    return {
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': AUTH_SECRET,
      'nginx.ingress.kubernetes.io/auth-secret-type': 'auth-file',
      'nginx.ingress.kubernetes.io/auth-realm': 'Preview',
      'nginx.ingress.kubernetes.io/custom-headers': `${namespace}/${HEADERS_CONFIG_MAP}`,
    };
  return {
    'traefik.ingress.kubernetes.io/router.middlewares': [AUTH_SECRET, NOINDEX_MIDDLEWARE]
      .map((name) => `${namespace}-${name}@kubernetescrd`)
      .join(','),
  };
}

/** An Ingress with the preview's protection annotations added (others kept; ours win). */
export function protectIngress(object: KubeObject, protect: PreviewProtectConfig, namespace: string): void {
  if (object.kind !== 'Ingress') return;
  object.metadata.annotations = { ...object.metadata.annotations, ...ingressAnnotations(protect, namespace) };
}

/** The objects the protection needs in the preview's namespace, given the htpasswd line. */
export function protectionObjects(
  protect: PreviewProtectConfig,
  namespace: string,
  htpasswd: string,
): KubeObject[] {
  const labels = { [PREVIEW_PART_LABEL]: 'protect' };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: AUTH_SECRET, namespace, labels },
    type: 'Opaque',
    // `auth` is what ingress-nginx reads (auth-secret-type auth-file), `users` what Traefik reads.
    stringData: { auth: `${htpasswd}\n`, users: `${htpasswd}\n` },
  };
  if (protect.ingress === 'nginx')
    return [
      secret,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: HEADERS_CONFIG_MAP, namespace, labels },
        data: { [ROBOTS_HEADER.name]: ROBOTS_HEADER.value },
      },
    ];
  const middleware = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'Middleware',
    metadata: { name, namespace, labels },
    spec,
  });
  return [
    secret,
    middleware(AUTH_SECRET, { basicAuth: { secret: AUTH_SECRET, removeHeader: true } }),
    middleware(NOINDEX_MIDDLEWARE, {
      headers: { customResponseHeaders: { [ROBOTS_HEADER.name]: ROBOTS_HEADER.value } },
    }),
  ];
}
