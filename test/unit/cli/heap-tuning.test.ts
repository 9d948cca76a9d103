import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI_HEAP_FLAGS, heapTuningFlags } from '../../../src/cli/heap-tuning.js';

describe('heap tuning of the capstan command', () => {
  it('applies its flags unless the user sized the heap or asked for the defaults', () => {
    const none: string[] = [];
    assert.deepEqual(heapTuningFlags({ env: {}, execArgv: none }), CLI_HEAP_FLAGS);
    assert.deepEqual(
      heapTuningFlags({ env: { NODE_OPTIONS: '--enable-source-maps' }, execArgv: none }),
      CLI_HEAP_FLAGS,
    );
    assert.deepEqual(heapTuningFlags({ env: { CAPSTAN_HEAP: 'default' }, execArgv: none }), []);
    for (const flag of [
      '--max-semi-space-size=64',
      '--max_semi_space_size=8',
      '--min-semi-space-size=4',
      '--semi-space-growth-factor=4',
      '--heap-growing-percent=20',
    ]) {
      assert.deepEqual(
        heapTuningFlags({ env: { NODE_OPTIONS: `--trace-warnings ${flag}` }, execArgv: none }),
        [],
        flag,
      );
      assert.deepEqual(heapTuningFlags({ env: {}, execArgv: [flag] }), [], flag);
    }
    // Flags about the old generation's limit say nothing about how it grows: Capstan still tunes.
    assert.deepEqual(
      heapTuningFlags({ env: { NODE_OPTIONS: '--max-old-space-size=512' }, execArgv: none }),
      CLI_HEAP_FLAGS,
    );
  });

  // The flags are set after V8 started, which Node documents as possibly doing nothing: prove on
  // the running Node that each takes effect, against a control that grows as V8 does by default.
  const dir = mkdtempSync(join(tmpdir(), 'capstan-heap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'churn.mjs');
  writeFileSync(
    script,
    `import { setFlagsFromString, getHeapSpaceStatistics } from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
for (const flag of JSON.parse(process.argv[2])) setFlagsFromString(flag);
let majors = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
}).observe({ entryTypes: ['gc'] });
// Objects that live through a few scavenges and then die, as a deploy's watch events do.
const window = [];
for (let i = 0; i < 2e6; i++) {
  window.push({ i, s: 'v' + i });
  if (window.length > 200000) window.splice(0, 100000);
}
await new Promise((resolve) => setTimeout(resolve, 50));
const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
console.log(JSON.stringify({ youngMib: young / 2 ** 20, majors }));
`,
  );
  const run = (flags: readonly string[]): { youngMib: number; majors: number } =>
    JSON.parse(
      execFileSync(process.execPath, [script, JSON.stringify(flags)], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      }),
    ) as { youngMib: number; majors: number };

  it(`takes effect on this Node (${process.version}): the young generation stays small, the old one is collected sooner`, () => {
    const defaults = run([]);
    const youngOnly = run(CLI_HEAP_FLAGS.filter((f) => f.startsWith('--semi-space')));
    const tuned = run(CLI_HEAP_FLAGS);
    assert.ok(defaults.youngMib >= 16, `V8's young generation grows by default: ${defaults.youngMib} MiB`);
    assert.ok(tuned.youngMib <= 4, `the tuned young generation stays small: ${tuned.youngMib} MiB`);
    assert.ok(
      tuned.majors > youngOnly.majors,
      `--heap-growing-percent brings full collections sooner: ${tuned.majors} against ${youngOnly.majors}`,
    );
  });
});
