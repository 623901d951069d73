import assert from 'node:assert/strict';
import { DEFAULTS, loadStackConfig, parseStackConfig, StackConfigError } from '../../infra-cdktf/config.js';

describe('infra-cdktf config', () => {
  it('accepts the defaults of both environments', () => {
    assert.equal(loadStackConfig('dev', {}).projectId, 'tillstream-dev');
    assert.equal(loadStackConfig('prod', {}).reprocessingHorizonDays, 400);
  });

  it('applies the deploy-time overrides Cloud Build sets', () => {
    const c = loadStackConfig('prod', {
      TILLSTREAM_PROJECT: 'acme-analytics-prod',
      TILLSTREAM_FUNCTIONS_OBJECT: 'functions/b-42.zip',
      TILLSTREAM_API_IMAGE: 'europe-west1-docker.pkg.dev/acme-analytics-prod/tillstream/query-api:b-42',
      TILLSTREAM_EXPORT_IMAGE: 'europe-west1-docker.pkg.dev/acme-analytics-prod/tillstream/export-job:b-42',
    });
    assert.deepEqual([c.projectId, c.functions.sourceObject, c.api.image], ['acme-analytics-prod', 'functions/b-42.zip', 'europe-west1-docker.pkg.dev/acme-analytics-prod/tillstream/query-api:b-42']);
    assert.equal(c.exportJob.image, 'europe-west1-docker.pkg.dev/acme-analytics-prod/tillstream/export-job:b-42');
  });

  it('names every bad key in one error', () => {
    const bad = structuredClone(DEFAULTS.prod);
    bad.projectId = 'Bad_Project';
    bad.pubsub.maxDeliveryAttempts = 3;
    bad.bigtable.minNodes = 40;
    assert.throws(() => parseStackConfig(bad), (err: unknown) => {
      assert.ok(err instanceof StackConfigError);
      assert.equal(
        err.message,
        'stack configuration: projectId: a GCP project id: 6-30 lower-case letters, digits and hyphens; pubsub.maxDeliveryAttempts: Too small: expected number to be >=5; ' +
          'bigtable.minNodes: bigtable.minNodes must not exceed maxNodes',
      );
      return true;
    });
  });

  it('refuses a horizon shorter than the maximum event age, and inverted bounds', () => {
    const short = structuredClone(DEFAULTS.dev);
    short.reprocessingHorizonDays = 30;
    short.maxEventAgeDays = 60;
    assert.throws(() => parseStackConfig(short), { message: 'stack configuration: reprocessingHorizonDays: reprocessingHorizonDays must exceed maxEventAgeDays' });
    const nodes = structuredClone(DEFAULTS.dev);
    nodes.bigtable.minNodes = 3;
    assert.throws(() => parseStackConfig(nodes), { message: 'stack configuration: bigtable.minNodes: bigtable.minNodes must not exceed maxNodes' });
    const job = structuredClone(DEFAULTS.prod);
    job.exportJob.parallelism = job.exportJob.tasks + 1;
    assert.throws(() => parseStackConfig(job), { message: 'stack configuration: exportJob.parallelism: exportJob.parallelism must not exceed exportJob.tasks' });
  });
});
