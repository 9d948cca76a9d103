// The library entry loads on its own (no import cycle breaks it) and offers the main calls.
import assert from 'node:assert/strict';
import { it } from 'node:test';

it('exports the library entry points', async () => {
  const capstan = await import('../../src/index.js');
  for (const name of [
    'deploy',
    'renderEnvironment',
    'runTask',
    'rollback',
    'migrate',
    'encryptEjson',
    'KubeClient',
    'CapstanError',
  ]) {
    assert.equal(typeof (capstan as Record<string, unknown>)[name], 'function', name);
  }
});
