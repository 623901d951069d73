import assert from 'node:assert/strict';
import { getFunction, getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { takesUnreadBody } from '../../functions/unread-body.js';

describe('functions entry points', () => {
  const saved: Record<string, string | undefined> = {};
  before(async function () {
    // Loading every Google client takes a few seconds on a busy machine.
    this.timeout(60_000);
    // No gcp configuration at all: every function must say it is not configured, not crash.
    for (const k of Object.keys(process.env)) {
      if (!k.startsWith('TILLSTREAM_')) continue;
      saved[k] = process.env[k];
      delete process.env[k];
    }
    await import('../../functions/index.js');
  });
  after(() => {
    Object.assign(process.env, saved);
  });

  it('registers the four functions under their deployed names', () => {
    for (const name of ['ingestEvents', 'ingestPosBatch', 'startExport', 'collect']) assert.equal(typeof getFunction(name), 'function', name);
  });

  it('answers 500 without configuration, so the subscription keeps the message', async () => {
    const res = await request(getTestServer('ingestEvents')).post('/').send({ message: { data: '', messageId: '1' } });
    assert.deepEqual([res.status, res.body], [500, { error: { code: 'internal', message: 'the function is not configured' } }]);
  });

  it('hands the public collector its requests before their bodies are read, and no other function', async () => {
    const names = ['ingestEvents', 'ingestPosBatch', 'startExport', 'collect', 'deliverAlert', 'evaluateAlerts'];
    assert.deepEqual(names.filter((n) => takesUnreadBody(getFunction(n))), ['collect']);
    // Unconfigured, it still answers through its own app: a body without a key is refused unread.
    const res = await request(getTestServer('collect')).post('/v1/events').set('content-type', 'application/json').send('[{"a":1},');
    assert.deepEqual([res.status, res.body], [500, { error: { code: 'internal', message: 'the function is not configured' } }]);
  });
});
