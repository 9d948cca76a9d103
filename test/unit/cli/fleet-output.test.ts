// A multi-cluster deploy's output: the terminal's line per cluster, plain lines prefixed with the
// cluster, JSON events with `cluster`, GitHub's step summary and annotations, GitLab's sections.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyDeployEvent } from '../../../src/events/index.js';
import { Redactor } from '../../../src/secrets/index.js';

describe('cluster names in events', () => {
  it('are public names, never redacted, like the environment', () => {
    const redactor = new Redactor();
    redactor.add(['eu-central-1', 'us-east.2', 'false']);
    const started = redactor.event({
      type: 'fleet-started',
      app: 'shop',
      env: 'production',
      deployId: 'd1',
      clusters: ['eu-central-1', 'us-east.2'],
      waves: [['eu-central-1'], ['us-east.2']],
      skipped: ['us-east.2'],
      dryRun: false,
    } satisfies AnyDeployEvent);
    assert.deepEqual(started.clusters, ['eu-central-1', 'us-east.2']);
    assert.deepEqual(started.waves, [['eu-central-1'], ['us-east.2']]);
    assert.deepEqual(started.skipped, ['us-east.2']);
    const finished = redactor.event({
      type: 'fleet-finished',
      outcome: 'failed',
      exitCode: 1,
      durationMs: 10,
      deployId: 'd1',
      message: 'failed with false',
      clusters: [{ cluster: 'eu-central-1', outcome: 'failed', exitCode: 1, message: 'false' }],
    } satisfies AnyDeployEvent);
    assert.equal(finished.clusters[0].cluster, 'eu-central-1');
    assert.equal(finished.clusters[0].message, '[redacted]');
    assert.equal(finished.message, 'failed with [redacted]');
    const event: AnyDeployEvent = { type: 'warning', message: 'x', cluster: 'eu-central-1' };
    assert.equal(redactor.event(event).cluster, 'eu-central-1');
    // Once an event named them, no other output hides them either.
    assert.equal(redactor.text('eu-central-1 false'), 'eu-central-1 [redacted]');
  });
});
