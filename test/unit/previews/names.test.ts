// A preview's names from any branch: valid DNS labels, bounded, stable, distinct (fast-check).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkHostPattern,
  cleanBranch,
  MAX_HOST,
  MIN_SLUG_BUDGET,
  previewNames,
  slugBudget,
  slugOf,
} from '../../../src/previews/names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Branch names as people and bots write them, and any string at all. */
const branch = fc.oneof(
  fc.string({ minLength: 1, maxLength: 200 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
  fc
    .array(fc.stringMatching(/^[A-Za-z0-9._-]{1,30}$/), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('/')),
  fc.constantFrom('main', 'HEAD', '-', '---', 'feature/ä', 'deadbeef', 'x-0123abcd', 'release/1.2.3', 'ÄÖÜ'),
);
const app = fc.stringMatching(/^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/);
const host = fc.constantFrom(
  '{slug}.preview.example.test',
  'shop-{slug}.p.example.com',
  '{slug}.a-rather-long-preview-domain-name.example.com',
  '{slug}',
);
const usable = fc.tuple(app, host).filter(([a, h]) => checkHostPattern(a, h) === undefined);

describe('preview names', () => {
  it('are DNS-safe and bounded for any branch: namespace and host labels <= 63, host <= 64 bytes', () => {
    fc.assert(
      fc.property(usable, branch, ([a, h], b) => {
        const names = previewNames(a, b, h);
        assert.ok(names.namespace.length <= 63, names.namespace);
        assert.match(names.namespace, DNS_LABEL);
        assert.match(names.slug, DNS_LABEL);
        assert.ok(Buffer.byteLength(names.host) <= MAX_HOST, names.host);
        for (const label of names.host.split('.')) {
          assert.ok(label.length <= 63);
          assert.match(label, DNS_LABEL);
        }
        assert.equal(names.namespace, `${a}-${names.slug}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('are stable: the same branch always gets the same slug', () => {
    fc.assert(
      fc.property(usable, branch, ([a, h], b) => {
        assert.deepEqual(previewNames(a, b, h), previewNames(a, `${b}`, h));
      }),
    );
  });

  it('are distinct for distinct branches', () => {
    fc.assert(
      fc.property(usable, branch, branch, ([a, h], b1, b2) => {
        fc.pre(b1 !== b2);
        assert.notEqual(previewNames(a, b1, h).slug, previewNames(a, b2, h).slug);
      }),
      { numRuns: 3000 },
    );
    // Branches that clean to the same text, and cut ones sharing a long prefix.
    const budget = slugBudget('shop', '{slug}.p.example.test');
    const same = ['Feature/X', 'feature/x', 'feature-x', 'FEATURE_X', 'feature--x', 'feature.x'];
    assert.equal(new Set(same.map((b) => slugOf(b, budget))).size, same.length);
    const long = Array.from({ length: 5 }, (_, i) => `${'a'.repeat(120)}${i}`);
    assert.equal(new Set(long.map((b) => slugOf(b, budget))).size, long.length);
  });

  it('keep a branch that is already a short DNS label, and hash the rest with a stable suffix', () => {
    const budget = slugBudget('shop', '{slug}.preview.example.test');
    assert.equal(slugOf('main', budget), 'main');
    assert.equal(slugOf('fix-login-5432', budget), 'fix-login-5432');
    assert.match(slugOf('Feature/JIRA-1234', budget), /^feature-jira-1234-[0-9a-f]{8}$/);
    assert.equal(slugOf('Feature/JIRA-1234', budget), slugOf('Feature/JIRA-1234', budget));
    // A branch that looks like a hashed slug is hashed too, so it cannot equal another's slug.
    assert.match(slugOf('x-0123abcd', budget), /^x-0123abcd-[0-9a-f]{8}$/);
    assert.match(slugOf('deadbeef', budget), /^deadbeef-[0-9a-f]{8}$/);
    // Nothing usable: the hash alone.
    assert.match(slugOf('///', budget), /^[0-9a-f]{8}$/);
    assert.equal(cleanBranch('  Ä/b__C  '), 'b-c');
    assert.throws(() => slugOf('', budget), /branch/);
  });

  it('refuse host patterns without one {slug}, with invalid labels, or leaving no room', () => {
    assert.equal(checkHostPattern('shop', '{slug}.preview.example.test'), undefined);
    assert.match(checkHostPattern('shop', 'preview.example.test')!, /exactly once \(it holds it 0 times\)/);
    assert.match(checkHostPattern('shop', '{slug}.{slug}.example.test')!, /2 times/);
    assert.match(checkHostPattern('shop', '{slug}.Preview.example.test')!, /lower-case DNS labels/);
    assert.match(checkHostPattern('shop', '{slug}._x.example.test')!, /DNS labels/);
    const longDomain = `{slug}.${'d'.repeat(50)}.example.com`;
    assert.match(checkHostPattern('shop', longDomain)!, new RegExp(`at least ${MIN_SLUG_BUDGET}`));
    assert.match(checkHostPattern('a'.repeat(55), '{slug}.p.test')!, /characters for a branch's slug/);
  });
});
