// The cutover record in a cluster: a ConfigMap in capstan-system, read and written as a whole.
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { CapstanError, type KubeObject } from '../shared/index.js';
import {
  CUTOVER_NAMESPACE,
  CUTOVER_RECORD_KEY,
  CUTOVER_RECORD_LABEL,
  parseCutoverRecord,
  SOURCE_LIVE_STATES,
  type CutoverRecord,
} from './cutover-plan.js';

export const CUTOVER_FIELD_MANAGER = 'capstan-cutover';

export interface RecordLocation {
  readonly namespace: string;
  readonly name: string;
}

function unreadable(side: string, location: RecordLocation, error: unknown): CapstanError {
  return new CapstanError(
    'ERR_CAPSTAN_CUTOVER_RECORD',
    `cluster ${side}: cannot read the cutover record ${location.namespace}/${location.name}: ${(error as Error).message}`,
    { hint: 'Capstan will not cut over without knowing what the last cutover did', cause: error },
  );
}

function parseIn(object: KubeObject, side: string, location: RecordLocation): CutoverRecord {
  const text = (object.data as Record<string, string> | undefined)?.[CUTOVER_RECORD_KEY];
  if (typeof text !== 'string') throw unreadable(side, location, new Error(`no key ${CUTOVER_RECORD_KEY}`));
  try {
    return parseCutoverRecord(text);
  } catch (error) {
    throw unreadable(side, location, error);
  }
}

/** The record in one cluster; undefined when there is none. Anything unreadable is an error. */
export async function readRecord(
  client: KubeClient,
  side: string,
  location: RecordLocation,
  signal?: AbortSignal,
): Promise<CutoverRecord | undefined> {
  let object: KubeObject | undefined;
  try {
    object = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', ...location }, signal);
  } catch (error) {
    throw unreadable(
      side,
      location,
      await client.explainRefusal(error, 'reading the cutover record', signal),
    );
  }
  return object ? parseIn(object, side, location) : undefined;
}

/** Writes the whole record (server-side apply; the namespace is created when missing). */
export async function writeRecord(
  client: KubeClient,
  location: RecordLocation,
  record: CutoverRecord,
  signal?: AbortSignal,
): Promise<void> {
  const options = { fieldManager: CUTOVER_FIELD_MANAGER, force: true, signal };
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...location, labels: { [CUTOVER_RECORD_LABEL]: 'true' } },
    data: { [CUTOVER_RECORD_KEY]: JSON.stringify(record) },
  };
  try {
    await client.apply(configMap, options);
  } catch (error) {
    if (!(error instanceof KubeApiError) || !error.notFound) throw error;
    await client.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: location.namespace } },
      options,
    );
    await client.apply(configMap, options);
  }
}

/**
 * Refuses to migrate into a cluster that a cutover made live (or is making live): the copy would
 * suspend the CronJobs the cutover resumed and take A's scaled-down replica counts.
 */
export async function refuseLiveTarget(target: KubeClient, signal?: AbortSignal): Promise<void> {
  const location = { namespace: CUTOVER_NAMESPACE, name: `(label ${CUTOVER_RECORD_LABEL})` };
  let items: KubeObject[];
  try {
    items = (
      await target.list('v1', 'ConfigMap', {
        namespace: CUTOVER_NAMESPACE,
        labelSelector: CUTOVER_RECORD_LABEL,
        signal,
      })
    ).items;
  } catch (error) {
    throw unreadable(
      'B',
      location,
      await target.explainRefusal(error, 'reading the cutover records', signal),
    );
  }
  for (const item of items) {
    const at = { namespace: CUTOVER_NAMESPACE, name: item.metadata.name ?? '' };
    const record = parseIn(item, 'B', at);
    if (record.to.server !== target.connection.server || SOURCE_LIVE_STATES.has(record.state)) continue;
    throw new CapstanError(
      'ERR_CAPSTAN_MIGRATE_LIVE_TARGET',
      `B is ${record.state === 'live' ? 'live' : `in a cutover (${record.state})`} since ${record.updatedAt} (cut over from ${record.from.server} by ${record.by}; record ${at.namespace}/${at.name}): copying into it would suspend the CronJobs the cutover resumed`,
      {
        hint: 'run `capstan cutover --back` with the same options first (A is live again), then migrate and cut over again',
      },
    );
  }
}
