// Reading a namespace back as a preview fails closed: only namespaces capstan preview created for
// this app are previews; a missing or malformed mark makes it unreadable, never deletable.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ResolvedEnvironment } from '../../../src/config/index.js';
import {
  isExpired,
  isUnreadable,
  previewLimits,
  previewNamespace,
  readPreview,
} from '../../../src/previews/namespace.js';
import {
  generatePassword,
  htpasswdLine,
  ingressAnnotations,
  protectionObjects,
} from '../../../src/previews/protect.js';
import { formatPreviewList, formatSpan } from '../../../src/cli/preview-commands.js';

const env = {
  app: 'shop',
  namespace: 'shop-feature-x-1a2b3c4d',
  preview: {
    branch: 'Feature/X',
    slug: 'feature-x-1a2b3c4d',
    host: 'feature-x-1a2b3c4d.p.example.test',
    expiresAt: '2026-12-10T10:00:00.000Z',
    from: 'staging',
    ttlMs: 3 * 86_400_000,
    quota: { 'requests.cpu': '2' },
    limits: { defaultRequest: { cpu: '50m' }, default: { cpu: '500m' } },
  },
} as unknown as ResolvedEnvironment;
const now = new Date('2026-12-07T10:00:00Z');
const written = () => previewNamespace(env, { creator: 'alice', now, pinned: false });

describe('preview namespaces', () => {
  it('are read back as the preview they were written for', () => {
    const state = readPreview(written(), 'shop');
    assert.ok(state && !isUnreadable(state));
    assert.equal(state.branch, 'Feature/X');
    assert.equal(state.slug, 'feature-x-1a2b3c4d');
    assert.equal(state.creator, 'alice');
    assert.equal(state.expiresAt.toISOString(), '2026-12-10T10:00:00.000Z');
    assert.equal(isExpired(state, now), false);
    assert.equal(isExpired(state, new Date('2026-12-10T10:00:00Z')), true);
    assert.equal(isExpired({ ...state, pinned: true }, new Date('2030-01-01T00:00:00Z')), false);
  });

  it('are not previews without every mark: other app, no generated-by, a look-alike', () => {
    assert.equal(readPreview(written(), 'other'), undefined);
    const lookAlike = written();
    delete lookAlike.metadata.annotations!['capstan.dev/generated-by'];
    assert.equal(readPreview(lookAlike, 'shop'), undefined);
    const unlabelled = written();
    delete unlabelled.metadata.labels!['capstan.dev/preview'];
    assert.equal(readPreview(unlabelled, 'shop'), undefined);
  });

  it('are unreadable, and so kept, when any annotation is missing or malformed', () => {
    const keys = [
      'capstan.dev/preview-branch',
      'capstan.dev/preview-created-at',
      'capstan.dev/preview-last-deploy',
      'capstan.dev/preview-expires-at',
      'capstan.dev/preview-pinned',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...keys),
        fc.option(
          fc.constantFrom('', 'false', '5432', 'tomorrow', '2026-13-45T99:00:00Z', 'yes', 'shop-staging'),
        ),
        (key, value) => {
          const ns = written();
          if (value === null) delete ns.metadata.annotations![key];
          else ns.metadata.annotations![key] = value;
          const state = readPreview(ns, 'shop');
          const valid =
            (key === 'capstan.dev/preview-pinned' && value === 'false') ||
            (key === 'capstan.dev/preview-branch' && value !== null && value !== '');
          if (valid) assert.ok(state && !isUnreadable(state));
          else assert.ok(state && isUnreadable(state) && state.reason.includes(key), JSON.stringify(state));
        },
      ),
    );
    const renamed = { ...written(), metadata: { ...written().metadata, name: 'shop-production' } };
    const state = readPreview(renamed, 'shop');
    assert.ok(state && isUnreadable(state) && /does not match its name/.test(state.reason));
  });

  it('get the quota and a LimitRange with container defaults', () => {
    const [quota, limits] = previewLimits(env);
    assert.equal(quota.kind, 'ResourceQuota');
    assert.deepEqual((quota as any).spec.hard, { 'requests.cpu': '2' });
    assert.equal(limits.kind, 'LimitRange');
    assert.deepEqual((limits as any).spec.limits[0].defaultRequest, { cpu: '50m' });
    const noQuota = { ...env, preview: { ...env.preview!, quota: {} } } as ResolvedEnvironment;
    assert.deepEqual(
      previewLimits(noQuota).map((o) => o.kind),
      ['LimitRange'],
    );
  });
});

describe('preview protection', () => {
  it('writes htpasswd lines in the {SHA} scheme nginx and Traefik read', () => {
    const sha = createHash('sha1').update('false').digest('base64');
    assert.equal(htpasswdLine('preview', 'false'), `preview:{SHA}${sha}`);
    assert.equal(htpasswdLine('qa', 'password'), 'qa:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=');
  });

  it('generates 24-character alphanumeric passwords, each different', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generatePassword()));
    assert.equal(seen.size, 200);
    for (const p of seen) assert.match(p, /^[A-Za-z0-9]{24}$/);
  });

  it('annotates for ingress-nginx, and routes through Middlewares for Traefik', () => {
    assert.equal(
      ingressAnnotations({ ingress: 'nginx' }, 'ns')['nginx.ingress.kubernetes.io/auth-secret'],
      'capstan-preview-auth',
    );
    assert.deepEqual(ingressAnnotations({ ingress: 'traefik' }, 'shop-x'), {
      'traefik.ingress.kubernetes.io/router.middlewares':
        'shop-x-capstan-preview-auth@kubernetescrd,shop-x-capstan-preview-noindex@kubernetescrd',
    });
    const traefik = protectionObjects({ ingress: 'traefik' }, 'shop-x', 'u:{SHA}x');
    assert.deepEqual(
      traefik.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        'Secret/capstan-preview-auth',
        'Middleware/capstan-preview-auth',
        'Middleware/capstan-preview-noindex',
      ],
    );
    assert.deepEqual((traefik[2] as any).spec.headers.customResponseHeaders, {
      'X-Robots-Tag': 'noindex, nofollow',
    });
    const nginx = protectionObjects({ ingress: 'nginx' }, 'shop-x', 'u:{SHA}x');
    assert.deepEqual((nginx[1] as any).data, { 'X-Robots-Tag': 'noindex, nofollow' });
  });
});

describe('preview list output', () => {
  it('reads spans as people do, and marks unreadable namespaces', () => {
    assert.equal(formatSpan(3 * 86_400_000 + 4 * 3_600_000), '3d 4h');
    assert.equal(formatSpan(5 * 3_600_000 + 12 * 60_000), '5h 12m');
    assert.equal(formatSpan(40 * 60_000), '40m');
    const state = readPreview(written(), 'shop');
    assert.ok(state && !isUnreadable(state));
    const text = formatPreviewList(
      {
        previews: [{ ...state, host: 'h.example.test', url: 'https://h.example.test', status: 'active' }],
        unreadable: [{ namespace: 'shop-odd', reason: 'annotation x is not a date' }],
      },
      now,
    );
    assert.match(text, /^BRANCH +NAMESPACE +URL +LAST DEPLOY +EXPIRES IN +STATUS\n/);
    assert.match(
      text,
      /Feature\/X +shop-feature-x-1a2b3c4d +https:\/\/h\.example\.test +2026-12-07T10:00:00Z +3d 0h +active/,
    );
    assert.match(text, /unreadable: namespace shop-odd: annotation x is not a date \(left alone\)/);
    assert.equal(formatPreviewList({ previews: [], unreadable: [] }, now), 'no previews\n');
  });
});
