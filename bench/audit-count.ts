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

/** Requests received within [fromMs, toMs] from every user agent that is not the control plane's. */
export function countRequests(file: string, fromMs: number, toMs: number): RequestCount {
  const byAgent: Record<string, number> = {};
  const byVerb: Record<string, number> = {};
  let total = 0;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
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
