// The real Helm the tests use (helm.sh/helm/v4, built from its Go module by test/cluster/go-tool.sh
// into the version-keyed cache, as .ci/run does in the background) and podinfo's chart as published.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getJson } from './helpers.js';

export const HELM_VERSION = 'v4.3.1';
const BUILD_DEADLINE_MS = 18 * 60_000;
const run = promisify(execFile);

export const PODINFO_CHART = fileURLToPath(new URL('../fixtures/podinfo-chart', import.meta.url));

/** The helm binary (built once, cached by version); undefined without Go. */
export async function ensureHelm(): Promise<string | undefined> {
  const go = await run('go', ['version'], { timeout: 30_000 }).then(
    () => true,
    () => false,
  );
  if (!go) return undefined;
  const script = fileURLToPath(new URL('../cluster/go-tool.sh', import.meta.url));
  const { stdout } = await run(
    script,
    ['helm', 'helm.sh/helm/v4', HELM_VERSION, 'helm.sh/helm/v4/cmd/helm'],
    { timeout: BUILD_DEADLINE_MS },
  );
  return stdout.trim().split('\n').pop();
}

/** The uids of podinfo's pods that are not being deleted, sorted: the same pods when they are equal. */
export async function podinfoPodUids(namespace: string): Promise<string[]> {
  const pods = await getJson<{ items: any[] }>([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    'app.kubernetes.io/name=podinfo',
  ]);
  return pods.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.uid as string)
    .sort();
}
