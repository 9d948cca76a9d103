import { CapstanError } from '../shared/index.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** `'10m'`, `'90s'`, `'1h30m'`, `'500ms'`, `'1.5h'`, `'3d'` -> milliseconds. A unit is required. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) {
    throw new CapstanError('ERR_CAPSTAN_INVALID_DURATION', `invalid duration "${text}"`, {
      hint: 'use a number with a unit (ms, s, m, h, d), e.g. 10m, 90s, 1h30m or 500ms',
    });
  }
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return Math.round(total);
}
