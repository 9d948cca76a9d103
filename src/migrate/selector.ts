// Kubernetes label selectors (`a=b,c!=d,e in (f,g),!h`) evaluated locally, for objects listed without one.
import { CapstanError } from '../shared/index.js';

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function parseRequirement(text: string, selector: string): Requirement {
  const set = /^([\w./-]+)\s+(in|notin)\s+\(([\w.,\s-]*)\)$/.exec(text);
  if (set) {
    const [, key, op, values] = set as unknown as [string, string, string, string];
    const allowed = new Set(values.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => key in l && allowed.has(l[key]) : (l) => !(key in l) || !allowed.has(l[key]);
  }
  const pair = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(text);
  if (pair) {
    const [, key, op, value] = pair as unknown as [string, string, string, string];
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const exists = /^(!?)([\w./-]+)$/.exec(text);
  if (exists) {
    const [, not, key] = exists as unknown as [string, string, string];
    return not ? (l) => !(key in l) : (l) => key in l;
  }
  throw new CapstanError('ERR_CAPSTAN_USAGE', `invalid label selector "${selector}" near "${text}"`, {
    hint: 'use the kubectl syntax, e.g. app=web,tier!=cache,env in (staging,production)',
  });
}

/** Compiles a label selector; the empty selector matches everything. */
export function parseLabelSelector(
  selector: string,
): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const requirements = splitTopLevel(selector).map((part) => parseRequirement(part, selector));
  return (labels) => requirements.every((matches) => matches(labels ?? {}));
}
