import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readGitBuildInfo, resolveBuildInfo, resolveBuildInfoFrom } from '../../../src/config/index.js';
import { lines, renderTree, renderTreeIssues } from '../../fixtures/deploy-tree.js';

const noGit = () => ({});

describe('the commit and branch of a deploy', () => {
  it('takes flags first, then the CI variables, then git', () => {
    const git = () => ({ commit: 'fromgit', branch: 'gitbranch' });
    assert.deepEqual(resolveBuildInfoFrom({ commit: 'abc', branch: 'flag' }, { GITHUB_SHA: 'gh' }, git), {
      commit: 'abc',
      branch: 'flag',
    });
    assert.deepEqual(resolveBuildInfoFrom({}, { GITHUB_SHA: 'gh', GITHUB_REF_NAME: 'main' }, git), {
      commit: 'gh',
      branch: 'main',
    });
    assert.deepEqual(
      resolveBuildInfoFrom({}, { CI_COMMIT_SHA: 'gl', CI_COMMIT_REF_NAME: 'release-1.2' }, git),
      { commit: 'gl', branch: 'release-1.2' },
    );
    assert.deepEqual(resolveBuildInfoFrom({}, { GIT_COMMIT: 'jk', GIT_BRANCH: 'origin/main' }, git), {
      commit: 'jk',
      branch: 'main',
    });
    assert.deepEqual(resolveBuildInfoFrom({}, { REVISION: 'krane' }, noGit), { commit: 'krane' });
    assert.deepEqual(resolveBuildInfoFrom({}, {}, git), { commit: 'fromgit', branch: 'gitbranch' });
    assert.deepEqual(resolveBuildInfoFrom({}, { GITHUB_SHA: '  ' }, noGit), {});
  });

  it('reads git in the application folder, and nothing outside a repository', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-git-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    assert.deepEqual(readGitBuildInfo(dir), {});
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: dir,
        stdio: 'pipe',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@e',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@e',
        },
      })
        .toString()
        .trim();
    git('init', '-q', '-b', 'feature/x.y');
    writeFileSync(join(dir, 'f'), 'x');
    git('add', 'f');
    git('commit', '-qm', 'one');
    const head = git('rev-parse', 'HEAD');
    assert.deepEqual(readGitBuildInfo(dir), { commit: head, branch: 'feature/x.y' });
    assert.deepEqual(resolveBuildInfo({ env: {}, cwd: dir }), { commit: head, branch: 'feature/x.y' });
    git('checkout', '-q', '--detach');
    assert.deepEqual(readGitBuildInfo(dir), { commit: head });
  });
});

describe('commit and branch in templates', () => {
  const tree = {
    'staging/30-deployment/web.yaml.ejs': lines(
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: build',
      'data:',
      '  commit: "<%= commit %>"',
      '  branch: "<%= branch %>"',
    ),
  };

  it('renders the commit a template embeds, the same on every redeploy of one build', async () => {
    const first = await renderTree(tree, { commit: '3f2c1a9', branch: 'main', deployId: 'r1' });
    const second = await renderTree(tree, { commit: '3f2c1a9', branch: 'main', deployId: 'r2' });
    const data = (phases: typeof first.phases) => (phases[0]?.objects[0]?.object as { data?: unknown }).data;
    assert.deepEqual(data(first.phases), { commit: '3f2c1a9', branch: 'main' });
    assert.deepEqual(data(second.phases), data(first.phases));
  });

  it('is an input error only when a template uses it and none is known', async () => {
    const issues = await renderTreeIssues(tree, {});
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.message ?? '', /no commit known: pass --commit/);
    assert.equal(issues[0]?.file, 'staging/30-deployment/web.yaml.ejs');
    await renderTree(
      {
        'staging/30-deployment/a.yaml': lines('apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: a'),
      },
      {},
    );
  });
});
