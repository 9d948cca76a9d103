// Counts the requests each tool sent, from the API server's audit log (test cluster started with
// auditLog): one line per request at stage ResponseComplete, attributed by user agent and time.
import { readFileSync } from 'node:fs';

/** The control plane's own components: never counted as a tool's requests. */
const SYSTEM_AGENTS = /^(kube-controller-manager|kube-scheduler|kube-apiserver|kwok|bench-observer)\b/;

interface AuditLine {
  userAgent?: string;
  requestReceivedTimestamp?: string;
  verb?: string;
  objectRef?: { resource?: string };
}

export interface RequestCount {
  readonly total: number;
  /** By user agent (first word), then verb and resource. */
  readonly byAgent: Record<string, number>;
  readonly byVerb: Record<string, number>;
}

/**
 * A file's lines, decoded one at a time: an audit log of runs at 1,500 objects can pass the longest
 * string V8 makes (about 512 MiB), which reading it as one string would.
 */
function* lines(bytes: Buffer): Generator<string> {
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(10, start);
    const stop = end === -1 ? bytes.length : end;
    yield bytes.toString('utf8', start, stop);
    start = stop + 1;
  }
}

/** Requests received within [fromMs, toMs] from every user agent that is not the control plane's. */
export function countRequests(file: string, fromMs: number, toMs: number): RequestCount {
  const byAgent: Record<string, number> = {};
  const byVerb: Record<string, number> = {};
  let total = 0;
  for (const text of lines(readFileSync(file))) {
    if (!text.startsWith('{')) continue;
    const line = JSON.parse(text) as AuditLine;
    const at = Date.parse(line.requestReceivedTimestamp ?? '');
    const agent = line.userAgent ?? '';
    if (!(at >= fromMs && at <= toMs) || SYSTEM_AGENTS.test(agent)) continue;
    total++;
    const name = agent.split(/[\s/]/)[0] || '(none)';
    byAgent[name] = (byAgent[name] ?? 0) + 1;
    const what = `${line.verb ?? '?'} ${line.objectRef?.resource ?? '(non-resource)'}`;
    byVerb[what] = (byVerb[what] ?? 0) + 1;
  }
  return { total, byAgent, byVerb };
}
