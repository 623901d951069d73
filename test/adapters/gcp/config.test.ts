import assert from 'node:assert/strict';
import { GcpConfigError, parseGcpConfig } from '../../../adapters/gcp/config.js';

const required = {
  TILLSTREAM_GCP_PROJECT: 'acme-prod',
  TILLSTREAM_BIGTABLE_INSTANCE: 'tillstream',
  TILLSTREAM_ARCHIVE_BUCKET: 'acme-archive',
  TILLSTREAM_POS_BUCKET: 'acme-pos',
  TILLSTREAM_DIMENSIONS_BUCKET: 'acme-config',
};

describe('gcp runtime configuration', () => {
  it('fills defaults around the required names', () => {
    assert.deepEqual(parseGcpConfig(required), {
      projectId: 'acme-prod',
      bigquery: { location: 'EU', rawDataset: 'raw', dimsDataset: 'dims', martsDataset: 'marts' },
      pubsub: {
        eventsTopic: 'tillstream-events',
        posTopic: 'tillstream-pos',
        deadLetterTopic: 'tillstream-dead-letter',
        eventsSubscription: 'tillstream-events-ingest',
        posSubscription: 'tillstream-pos-ingest',
        maxDeliveryAttempts: 5,
      },
      bigtable: { instanceId: 'tillstream', seriesTable: 'series', dedupeTable: 'dedupe', keysTable: 'keys' },
      storage: { archiveBucket: 'acme-archive', archivePrefix: 'archive/', posBucket: 'acme-pos', dimensionsBucket: 'acme-config', dimensionsObject: 'dimensions/current.json' },
      pepperSecret: 'tillstream-key-pepper',
      batch: { maxEntries: 500, maxBytes: 1_000_000 },
      cacheRefreshMs: 60_000,
    });
  });

  it('takes the project from GOOGLE_CLOUD_PROJECT and numbers and the pepper from text', () => {
    const { TILLSTREAM_GCP_PROJECT: _, ...rest } = required;
    const c = parseGcpConfig({ ...rest, GOOGLE_CLOUD_PROJECT: 'from-runtime', TILLSTREAM_MAX_DELIVERY_ATTEMPTS: '10', TILLSTREAM_KEY_PEPPER: 'ab'.repeat(32) });
    assert.equal(c.projectId, 'from-runtime');
    assert.equal(c.pubsub.maxDeliveryAttempts, 10);
    assert.deepEqual(c.pepper, Buffer.alloc(32, 0xab));
  });

  it('names every missing or bad variable', () => {
    assert.throws(
      () => parseGcpConfig({ TILLSTREAM_GCP_PROJECT: 'p', TILLSTREAM_ARCHIVE_BUCKET: 'a', TILLSTREAM_POS_BUCKET: 'b', TILLSTREAM_MAX_DELIVERY_ATTEMPTS: '2' }),
      (err: Error) => {
        assert.ok(err instanceof GcpConfigError);
        assert.equal(
          err.message,
          'gcp runtime configuration: TILLSTREAM_MAX_DELIVERY_ATTEMPTS: Too small: expected number to be >=5; TILLSTREAM_BIGTABLE_INSTANCE is missing; TILLSTREAM_DIMENSIONS_BUCKET is missing',
        );
        return true;
      },
    );
  });
});
