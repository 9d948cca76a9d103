import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Informer, type InformerClient } from '../../../src/kube/index.js';
import type { KubeObject } from '../../../src/shared/index.js';

/** A client whose watches stay silent until aborted (a stalled stream), counting lists and watches. */
function silentClient(): InformerClient & { lists: number; watches: number } {
  const state = { lists: 0, watches: 0 };
  const object = (rv: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'a', namespace: 'ns', resourceVersion: rv },
  });
  const client = {
    get lists() {
      return state.lists;
    },
    get watches() {
      return state.watches;
    },
    list: () => {
      state.lists++;
      return Promise.resolve({ items: [object(String(state.lists))], resourceVersion: String(state.lists) });
    },
    watch: async function* (_apiVersion: string, _kind: string, options: { signal?: AbortSignal }) {
      state.watches++;
      await new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve()));
      yield* [];
    },
  };
  return client;
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Informer idle deadline', () => {
  it('drops a watch that brings nothing for idleTimeoutMs and lists again, without counting a failure', async () => {
    const client = silentClient();
    const controller = new AbortController();
    const informer = new Informer(client, {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'ns',
      signal: controller.signal,
      idleTimeoutMs: 50,
      onChange: () => {},
    });
    try {
      await informer.synced;
      await until(() => client.lists >= 3, 'two more lists');
      assert.ok(client.watches >= 2);
      assert.equal(informer.health.failures, 0);
      assert.equal(informer.get('ns', 'a')?.metadata.resourceVersion !== undefined, true);
    } finally {
      controller.abort();
    }
  });

  it('without a deadline a silent watch is left alone', async () => {
    const client = silentClient();
    const controller = new AbortController();
    const informer = new Informer(client, {
      apiVersion: 'v1',
      kind: 'Pod',
      signal: controller.signal,
      onChange: () => {},
    });
    try {
      await informer.synced;
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(client.lists, 1);
      assert.equal(client.watches, 1);
    } finally {
      controller.abort();
    }
  });
});
