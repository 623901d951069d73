import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROJECT_QUERY_USAGE_PER_DAY_DEFAULT } from './platform-facts.js';
import { BYTE_CEILINGS, DEFAULTS, loadStackConfig, parseStackConfig, StackConfigError } from '../../infra-cdktf/config.js';

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

  describe('BigQuery byte ceilings', () => {
    const budgets = Object.entries(JSON.parse(readFileSync(new URL('../../sql/budgets.json', import.meta.url), 'utf8')) as Record<string, number | string>).filter(
      (e): e is [string, number] => typeof e[1] === 'number',
    );
    const exportReads = budgets.filter(([k]) => / export |^export /.test(k));
    const script = budgets.filter(([k]) => !/ export |^export /.test(k));

    it('defaults them from sql/budgets.json, in both environments', () => {
      assert.ok(exportReads.length > 10 && script.length > 10, 'the budgets name the export reads and the script statements');
      for (const env of ['dev', 'prod'] as const) assert.deepEqual(loadStackConfig(env, {}).bigquery, BYTE_CEILINGS);
    });

    it('leaves every budgeted job of a typical hour under its ceiling, and a normal day of the marts runner under the daily quota', () => {
      const c = loadStackConfig('prod', {}).bigquery;
      // The export job's reads run under the workloads' ceiling; reprocess runs the script's statements under its own.
      assert.deepEqual(exportReads.filter(([, v]) => v > c.maxBytesBilled), []);
      assert.deepEqual(script.filter(([, v]) => v > c.reprocessMaxBytesBilled), []);
      const hour = script.reduce((a, [, v]) => a + v, 0);
      assert.ok(c.dailyQueryBytesPerPrincipal >= 24 * hour, `${c.dailyQueryBytesPerPrincipal} bytes a day holds 24 budgeted hours of ${hour} bytes`);
      // A runaway marts runner meets its own quota before the project's, which would stop every workload's queries.
      assert.ok(c.dailyQueryBytesPerPrincipal < PROJECT_QUERY_USAGE_PER_DAY_DEFAULT, `${c.dailyQueryBytesPerPrincipal} bytes a day under the project default ${PROJECT_QUERY_USAGE_PER_DAY_DEFAULT}`);
      // ...and the bench's measured typical hour (bench/results/latest.json) is within the budgeted one.
      const measured = (JSON.parse(readFileSync(new URL('../../bench/results/latest.json', import.meta.url), 'utf8')) as { bq_hourly_scan: { typical_bytes: number } }).bq_hourly_scan.typical_bytes;
      assert.ok(measured <= hour, `measured typical hour ${measured} within the budgeted ${hour}`);
    });

    it('takes deploy-time overrides, and refuses a reprocess ceiling below the workloads\' or a bad number, naming the key', () => {
      const c = loadStackConfig('prod', {
        TILLSTREAM_STACK_MAX_BYTES_BILLED: '200000000000',
        TILLSTREAM_STACK_REPROCESS_MAX_BYTES_BILLED: '9000000000000',
        TILLSTREAM_STACK_DAILY_QUERY_BYTES: '400000000000000',
      });
      assert.deepEqual(c.bigquery, { maxBytesBilled: 200_000_000_000, reprocessMaxBytesBilled: 9_000_000_000_000, dailyQueryBytesPerPrincipal: 400_000_000_000_000 });
      assert.throws(() => loadStackConfig('prod', { TILLSTREAM_STACK_REPROCESS_MAX_BYTES_BILLED: '1000' }), {
        message: 'stack configuration: bigquery.reprocessMaxBytesBilled: reprocessMaxBytesBilled must not be below maxBytesBilled',
      });
      assert.throws(() => loadStackConfig('prod', { TILLSTREAM_STACK_MAX_BYTES_BILLED: '100GB' }), /bigquery\.maxBytesBilled/);
    });
  });
});
