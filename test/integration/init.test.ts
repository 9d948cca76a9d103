// capstan init against the real control plane: the scaffold passes the cluster-aware audit with no
// error or warning and deploys (migration Job, web with Service, budget and Ingress, workers); a
// second init refuses and leaves every file as it was.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { capstan } from './cli-helpers.js';
import { getJson, kubectl } from './helpers.js';

function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  return out;
}

describe('capstan init', () => {
  it('scaffolds an application that passes the audit and deploys; a second init changes nothing', async () => {
    const app = `init-${randomBytes(3).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), 'capstan-init-'));
    const env = { EJSON_KEYDIR: join(dir, 'keys') };
    const cwd = join(dir, 'app');
    const flags = [
      'init',
      '--app',
      app,
      '--image',
      'registry.example.com/shop:1.4.2',
      '--web',
      'bin/server --port 5432',
      '--port',
      '5432',
      '--worker',
      'bin/worker --queues default,mailers',
      '--worker',
      "bin/worker --queues 'low priority'",
      '--migrate',
      'bin/rails db:migrate',
      '--envs',
      'staging,prod-eu',
      '--ingress-host',
      'shop.example.com',
    ];
    try {
      const init = await capstan(flags, { cwd, env });
      assert.equal(init.code, 0, init.stderr);

      const audit = await capstan(['audit', 'staging', '-o', 'json'], { cwd, env });
      assert.equal(audit.code, 0, audit.stdout + audit.stderr);
      const findings = audit.events.filter((f) => f.severity === 'error' || f.severity === 'warning');
      assert.deepEqual(findings, []);
      assert.doesNotMatch(audit.stderr, /skipped/, 'every cluster-aware check ran');

      const deploy = await capstan(['deploy', 'staging', '-o', 'json'], { cwd, env });
      assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
      const ns = `${app}-staging`;
      const job = await getJson(['get', 'job', 'db-migrate', '-n', ns, '-o', 'json']);
      assert.equal(job.status.succeeded, 1);
      for (const name of ['web', 'worker-1', 'worker-2']) {
        const deployment = await getJson(['get', 'deployment', name, '-n', ns, '-o', 'json']);
        assert.equal(deployment.status.availableReplicas, name === 'web' ? 2 : 1, name);
      }
      const objects = await kubectl(['get', 'service,pdb,ingress,secret,configmap', '-n', ns, '-o', 'name']);
      for (const name of [
        'service/web',
        'poddisruptionbudget.policy/web',
        'ingress.networking.k8s.io/web',
        `secret/${app}-secrets`,
        `configmap/${app}-config`,
      ])
        assert.match(objects, new RegExp(`^${name.replaceAll('.', '\\.')}$`, 'm'));

      const before = filesUnder(dir);
      const again = await capstan(flags, { cwd, env });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /\.deploy\/capstan\.yaml, .* and \d+ more already exist/);
      assert.deepEqual(filesUnder(dir), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await kubectl(['delete', 'namespace', `${app}-staging`, '--wait=false', '--ignore-not-found']);
    }
  });
});
