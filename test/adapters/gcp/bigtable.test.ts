import assert from 'node:assert/strict';
import sinon from 'sinon';
import { bigtableClient } from '../../../adapters/gcp/bigtable.js';
import { parseGcpConfig } from '../../../adapters/gcp/config.js';
import { createGcpRuntime } from '../../../runtime/gcp.js';

const env = {
  TILLSTREAM_GCP_PROJECT: 'acme-prod',
  TILLSTREAM_BIGTABLE_INSTANCE: 'tillstream',
  TILLSTREAM_ARCHIVE_BUCKET: 'acme-archive',
  TILLSTREAM_POS_BUCKET: 'acme-pos',
  TILLSTREAM_DIMENSIONS_BUCKET: 'acme-config',
};

interface Sent {
  method: string;
  reqOpts: { appProfileId?: string; tableName?: string };
}

/** The data requests a runtime's client sends, answered as an unmatched CheckAndMutateRow. */
function recordRequests(projectId: string, appProfileId?: string): Sent[] {
  const sent: Sent[] = [];
  sinon.stub(bigtableClient(projectId, appProfileId), 'request').callsFake(((config: Sent, callback: (err: null, res: object) => void) => {
    sent.push({ method: config.method, reqOpts: config.reqOpts });
    callback(null, { predicateMatched: false });
  }) as never);
  return sent;
}

const claim = { merchantId: 'm1', eventId: 'e1', contentHash: 'h', entry: { messageId: 'msg', index: 0 } };

describe('gcp Bigtable client', () => {
  afterEach(() => sinon.restore());

  it('sends the workload app profile with the dedupe index conditional writes', async () => {
    const sent = recordRequests('acme-prod', 'tillstream-transactional');
    const rt = createGcpRuntime(parseGcpConfig({ ...env, TILLSTREAM_BIGTABLE_APP_PROFILE: 'tillstream-transactional' }));
    assert.deepEqual(await rt.dedupe.claim([claim]), [{ kind: 'new' }]);
    assert.deepEqual(
      sent.map((s) => [s.method, s.reqOpts.appProfileId]),
      [['checkAndMutateRow', 'tillstream-transactional']],
    );
  });

  it('uses the instance default profile when none is configured, on a client of its own', async () => {
    const sent = recordRequests('acme-prod');
    const rt = createGcpRuntime(parseGcpConfig(env));
    await rt.dedupe.claim([claim]);
    assert.deepEqual(
      sent.map((s) => [s.method, s.reqOpts.appProfileId]),
      [['checkAndMutateRow', undefined]],
    );
    assert.notEqual(bigtableClient('acme-prod'), bigtableClient('acme-prod', 'tillstream-serving'));
    assert.equal(bigtableClient('acme-prod', 'tillstream-serving'), bigtableClient('acme-prod', 'tillstream-serving'));
  });
});
