// How the capstan command bounds its own memory: two V8 heap settings, applied by bin/capstan.js
// before the CLI loads (docs/performance.md, "Memory").
import { setFlagsFromString } from 'node:v8';

/**
 * The young generation stays at its starting size (V8 doubles it whenever enough survives a
 * scavenge, to 32 MiB on Node 20 and 64 MiB on Node 24), and the old generation is collected once
 * it has grown by half since the last full collection (V8's own factor goes up to 4 for a process
 * that allocates fast, so a deploy's dead watch objects piled up until exit). Both are read by V8
 * each time it sizes a space, so setting them at start-up takes effect; the sizes the heap starts
 * with (`--max-semi-space-size` and the like) are read once, when the process starts, and cannot be
 * changed this way.
 */
export const CLI_HEAP_FLAGS: readonly string[] = [
  '--semi-space-growth-factor=1',
  '--heap-growing-percent=50',
];

/** Flags of the user's own that say how big V8's heap should be: then Capstan leaves it alone. */
const USER_HEAP_FLAG = /--(?:(?:max|min)[-_])?semi[-_]space|--heap[-_]growing[-_]percent/;

export interface HeapTuningInput {
  readonly env: NodeJS.ProcessEnv;
  readonly execArgv: readonly string[];
}

/**
 * The flags to set, or none when the user chose for themselves: `CAPSTAN_HEAP=default` keeps V8's
 * defaults, and heap sizing flags in NODE_OPTIONS or on node's command line win.
 */
export function heapTuningFlags(input: HeapTuningInput): readonly string[] {
  if (input.env.CAPSTAN_HEAP === 'default') return [];
  const given = `${input.env.NODE_OPTIONS ?? ''} ${input.execArgv.join(' ')}`;
  return USER_HEAP_FLAG.test(given) ? [] : CLI_HEAP_FLAGS;
}

/** Applies {@link heapTuningFlags} to this process; returns what it set. */
export function tuneHeap(
  input: HeapTuningInput = { env: process.env, execArgv: process.execArgv },
): readonly string[] {
  const flags = heapTuningFlags(input);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
