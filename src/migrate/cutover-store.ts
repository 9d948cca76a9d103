// The cutover record in a cluster: a ConfigMap in capstan-system, read and written as a whole, and
// its copies in the scope's namespaces, which deploys read.
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
import {
  CUTOVER_SIDE_ANNOTATION,
  judgeLiveness,
  type CutoverSide,
  type FoundCutoverRecord,
} from './cutover-liveness.js';

export const CUTOVER_FIELD_MANAGER = 'capstan-cutover';

export interface RecordLocation {
  readonly namespace: string;
  readonly name: string;
}

function unreadable(
  side: string,
  location: RecordLocation,
  error: unknown,
  hint = 'Capstan will not cut over without knowing what the last cutover did',
): CapstanError {
  return new CapstanError(
    'ERR_CAPSTAN_CUTOVER_RECORD',
    `cluster ${side}: cannot read the cutover record ${location.namespace}/${location.name}: ${(error as Error).message}`,
    { hint, cause: error },
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

function recordConfigMap(location: RecordLocation, record: CutoverRecord, side: CutoverSide): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...location,
      labels: { [CUTOVER_RECORD_LABEL]: 'true' },
      annotations: { [CUTOVER_SIDE_ANNOTATION]: side },
    },
    data: { [CUTOVER_RECORD_KEY]: JSON.stringify(record) },
  };
}

/** Writes the whole record (server-side apply; the namespace is created when missing). */
export async function writeRecord(
  client: KubeClient,
  location: RecordLocation,
  record: CutoverRecord,
  side: CutoverSide,
  signal?: AbortSignal,
): Promise<void> {
  const options = { fieldManager: CUTOVER_FIELD_MANAGER, force: true, signal };
  const configMap = recordConfigMap(location, record, side);
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
 * Writes the record's copy, under the record's name, in each namespace of `record.copies` that
 * exists (a namespace is never created for it): what deploys to those namespaces read.
 */
export async function writeCopies(
  client: KubeClient,
  name: string,
  record: CutoverRecord,
  side: CutoverSide,
  signal?: AbortSignal,
): Promise<void> {
  const options = { fieldManager: CUTOVER_FIELD_MANAGER, force: true, signal };
  await Promise.all(
    (record.copies ?? []).map(async (namespace) => {
      try {
        await client.apply(recordConfigMap({ namespace, name }, record, side), options);
      } catch (error) {
        if (!(error instanceof KubeApiError) || !error.notFound) throw error;
      }
    }),
  );
}

/**
 * Every cutover record (or copy of one) in these namespaces of one cluster, with the side the
 * copy names. Anything that cannot be read or parsed is an error: whether a cluster is live is
 * never guessed.
 */
export async function readCutoverRecords(
  client: KubeClient,
  namespaces: readonly string[],
  signal?: AbortSignal,
): Promise<FoundCutoverRecord[]> {
  const lists = await Promise.all(
    [...new Set(namespaces)].map(async (namespace) => {
      try {
        const { items } = await client.list('v1', 'ConfigMap', {
          namespace,
          labelSelector: CUTOVER_RECORD_LABEL,
          signal,
        });
        return items;
      } catch (error) {
        const location = { namespace, name: `(label ${CUTOVER_RECORD_LABEL})` };
        throw unreadable(
          client.connection.server,
          location,
          await client.explainRefusal(error, 'reading the cutover records', signal),
          'Capstan will not deploy without knowing whether a cutover made this cluster not live',
        );
      }
    }),
  );
  return lists.flat().map((item) => {
    const location = { namespace: item.metadata.namespace ?? '', name: item.metadata.name ?? '' };
    const side = item.metadata.annotations?.[CUTOVER_SIDE_ANNOTATION];
    return {
      location,
      record: parseIn(item, client.connection.server, location),
      ...(side === 'A' || side === 'B' ? { side } : {}),
    };
  });
}

export interface NotLiveQuery {
  /** The environment's namespace: its deploy identity may read there, and the cutover left a copy there. */
  readonly namespace: string;
  readonly app?: string;
  readonly env?: string;
  readonly signal?: AbortSignal;
}

/**
 * Why a deploy must not go to the cluster `client` reaches, or undefined when it may: reads the
 * cutover records kept in the environment's namespace (every cutover leaves a copy in the
 * namespaces of its scope) and judges them. Throws when they cannot be read.
 */
export async function notLiveReason(client: KubeClient, query: NotLiveQuery): Promise<string | undefined> {
  const found = await readCutoverRecords(client, [query.namespace], query.signal);
  return judgeLiveness(found, {
    server: client.connection.server,
    namespaces: [query.namespace],
    ...(query.app === undefined ? {} : { app: query.app }),
    ...(query.env === undefined ? {} : { env: query.env }),
  })?.reason;
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
    const side = item.metadata.annotations?.[CUTOVER_SIDE_ANNOTATION];
    const isB = side ? side === 'B' : record.to.server === target.connection.server;
    if (!isB || SOURCE_LIVE_STATES.has(record.state)) continue;
    throw new CapstanError(
      'ERR_CAPSTAN_MIGRATE_LIVE_TARGET',
      `B is ${record.state === 'live' ? 'live' : `in a cutover (${record.state})`} since ${record.updatedAt} (cut over from ${record.from.server} by ${record.by}; record ${at.namespace}/${at.name}): copying into it would suspend the CronJobs the cutover resumed`,
      {
        hint: 'run `capstan cutover --back` with the same options first (A is live again), then migrate and cut over again',
      },
    );
  }
}
