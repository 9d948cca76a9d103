import { CapstanError } from '../shared/index.js';

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** A refusal or failure reported by the Kubernetes API, with its Status details (trimmed for people). */
export class KubeApiError extends CapstanError {
  readonly status: number;
  readonly reason: string;
  readonly causes: readonly StatusCause[];

  constructor(
    status: number,
    reason: string,
    message: string,
    causes: readonly StatusCause[] = [],
    cause?: unknown,
  ) {
    super(status === 0 ? 'ERR_CAPSTAN_KUBE_UNREACHABLE' : 'ERR_CAPSTAN_KUBE_API', trimApiMessage(message), {
      cause,
    });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.causes = causes.map((c) =>
      c.message === undefined ? c : { ...c, message: trimApiMessage(c.message) },
    );
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
  get forbidden(): boolean {
    return this.status === 403;
  }
  /** Worth retrying: the API server is restarting, overloaded or briefly unreachable. */
  get transient(): boolean {
    // A 500 in general is left out: the API server answers schema errors of an apply with it. One
    // that passes on etcd being away (restarting, electing a leader, timing out) is worth a retry.
    return (
      this.status === 0 ||
      this.status === 429 ||
      this.status === 502 ||
      this.status === 503 ||
      this.status === 504 ||
      (this.status === 500 && ETCD_AWAY.test(this.message))
    );
  }
}

/** How the API server passes on a storage backend that is briefly away (gRPC Unavailable, etcd's own words). */
const ETCD_AWAY =
  /rpc error: code = (Unavailable|DeadlineExceeded)\b|etcdserver: (request timed out|leader changed|no leader|too many requests)/;

export function isKubeApiError(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError;
}

// The API server's field errors read `<field>: <type>: <value>: <detail>`, and the value of an
// `Invalid value` is printed with Go's %#v: a whole PodTemplateSpec for an immutable template,
// a Secret's bytes for a bad Secret. People need the field and the reason, never that dump.
const VALUE_TYPES = /(Invalid value|Unsupported value|Duplicate value|Not found): /g;
/** Values longer than this, or composite ones, are dropped from messages. */
const MAX_VALUE_CHARS = 60;
/** Whatever is left is cut here: an API message is a sentence, not a document. */
const MAX_MESSAGE_CHARS = 1000;

/** Where a printed Go value that starts at `start` ends: at `: `, `, ` or an unmatched `]` outside quotes and brackets. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === '`') {
      const close = ch;
      for (i++; i < text.length && text[i] !== close; i++) if (close === '"' && text[i] === '\\') i++;
      continue;
    }
    if (ch === '{' || ch === '(' || ch === '[') depth++;
    else if (ch === '}' || ch === ')' || ch === ']') {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && (ch === ':' || ch === ',') && text[i + 1] === ' ') return i;
  }
  return text.length;
}

function isComposite(value: string): boolean {
  if (value.startsWith('"')) return false;
  return /^(?:&|\(\*|\[\]|map\[|[\w.]+\{)/.test(value) || value.includes('{');
}

/**
 * An API message with printed Go values cut out when they are long or composite, so that
 * `spec.template: Invalid value: core.PodTemplateSpec{…3 KB…}: field is immutable` reads
 * `spec.template: field is immutable`. Short scalar values (`-1`, `"Always"`) stay: they help.
 */
export function trimApiMessage(message: string): string {
  let out = '';
  let from = 0;
  VALUE_TYPES.lastIndex = 0;
  for (let match = VALUE_TYPES.exec(message); match; match = VALUE_TYPES.exec(message)) {
    const valueStart = match.index + match[0].length;
    if (valueStart < from) continue;
    const end = valueEnd(message, valueStart);
    const value = message.slice(valueStart, end);
    if (value.length > MAX_VALUE_CHARS || isComposite(value)) {
      const hasDetail = message.startsWith(': ', end);
      // `Invalid value: <dump>: reason` -> `reason`; `Invalid value: <dump>` -> `Invalid value`.
      out += message.slice(from, match.index) + (hasDetail ? '' : match[1]);
      from = hasDetail ? end + 2 : end;
    } else {
      out += message.slice(from, end);
      from = end;
    }
    VALUE_TYPES.lastIndex = Math.max(from, valueStart);
  }
  out += message.slice(from);
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…` : out;
}
