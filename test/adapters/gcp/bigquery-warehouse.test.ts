import assert from 'node:assert/strict';
import { BigQuery, BigQueryDate, BigQueryInt, BigQueryTimestamp, Job, Table, type Query } from '@google-cloud/bigquery';
import sinon from 'sinon';
import { BytesBilledLimitError, createBigQueryWarehouse, serializeRow } from '../../../adapters/gcp/bigquery-warehouse.js';
import type { IngestWrite, RawEventRow } from '../../../pipeline/ports.js';
import { rawEvents } from '../../../pipeline/schema/raw.js';

const receivedAt = new Date('2026-11-21T10:00:05.000Z');
const event: RawEventRow = {
  event_id: 'e1',
  merchant_id: 'm1',
  event_type: 'order',
  source: 'online',
  schema_version: 1,
  event_ts: new Date('2026-11-21T09:59:00.000Z'),
  received_at: receivedAt,
  message_id: '42',
  entry_index: 0,
  store_id: 's1',
  merchant_time_zone: 'Europe/Berlin',
  order_id: 'o1',
  order_status: 'completed',
  currency: 'EUR',
  gross_minor: 1299,
  net_minor: 1299,
  promo_ids: ['p1'],
  body_json: '{"order_id":"o1"}',
};

describe('gcp BigQuery warehouse', () => {
  const sandbox = sinon.createSandbox();
  afterEach(() => sandbox.restore());
  const bigquery = new BigQuery({ projectId: 'tillstream-test' });
  const warehouse = () => createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw' });

  it('serializes a raw row from the schema source: every column, ISO timestamps, empty repeated fields', () => {
    const json = serializeRow(rawEvents, { ...event, promo_ids: null, extra_field: 'dropped' });
    assert.deepEqual(Object.keys(json), rawEvents.columns.map((c) => c.name));
    assert.equal(json.event_ts, '2026-11-21T09:59:00.000Z');
    assert.deepEqual(json.promo_ids, []);
    assert.deepEqual(json.promo_store_ids, []);
    assert.equal(json.sku, null);
    assert.throws(() => serializeRow(rawEvents, { ...event, body_json: undefined }), /raw\.events\.body_json is required but missing/);
  });

  it('streams accepted, rejected, duplicate and arrival rows with their insertIds as raw rows', async () => {
    const calls: { table: string; rows: unknown; options: unknown }[] = [];
    sandbox.stub(Table.prototype, 'insert').callsFake(async function (this: Table, rows: unknown, options: unknown) {
      calls.push({ table: `${this.dataset.id}.${this.id}`, rows, options });
      return [{}];
    } as never);
    const batch: IngestWrite = {
      accepted: [event],
      orderLines: [],
      rejected: [
        {
          message_id: '42',
          entry_index: 1,
          reason: 'invalid_json',
          detail: 'Unexpected token',
          merchant_id: null,
          event_id: null,
          event_type: null,
          source: 'online',
          payload: '{oops',
          received_at: receivedAt,
          rejected_at: new Date('2026-11-21T10:00:06.000Z'),
        },
      ],
      duplicates: [{ message_id: '42', entry_index: 2, merchant_id: 'm1', event_id: 'e0', first_message_id: '7', first_entry_index: 3, received_at: receivedAt }],
      arrivals: [{ message_id: '42', merchant_id: 'm1', event_hour: new Date('2026-11-21T09:00:00Z'), received_at: receivedAt }],
    };
    await warehouse().write(batch);
    const options = { raw: true, skipInvalidRows: false, ignoreUnknownValues: false };
    assert.deepEqual(
      calls.map((c) => [c.table, (c.rows as { insertId: string }[]).map((r) => r.insertId), c.options]),
      [
        ['raw.events', ['m1:e1'], options],
        ['raw.rejected_events', ['42:1'], options],
        ['raw.duplicates', ['42:2'], options],
        ['raw.arrivals', ['42:m1:2026-11-21T09:00:00.000Z'], options],
      ],
    );
    assert.deepEqual((calls[1]!.rows as { json: unknown }[])[0]!.json, {
      message_id: '42',
      entry_index: 1,
      reason: 'invalid_json',
      detail: 'Unexpected token',
      merchant_id: null,
      event_id: null,
      event_type: null,
      source: 'online',
      payload: '{oops',
      received_at: '2026-11-21T10:00:05.000Z',
      rejected_at: '2026-11-21T10:00:06.000Z',
    });
    assert.deepEqual((calls[3]!.rows as { json: unknown }[])[0]!.json, {
      message_id: '42',
      merchant_id: 'm1',
      event_hour: '2026-11-21T09:00:00.000Z',
      received_at: '2026-11-21T10:00:05.000Z',
      // Every column present: an arrival written without its newest event time carries null.
      last_event_at: null,
    });
  });

  it('splits large inserts and turns an insert failure into an error that keeps its cause', async () => {
    const sizes: number[] = [];
    const failure = new Error('backendError');
    sandbox.stub(Table.prototype, 'insert').callsFake((async (rows: unknown[]) => {
      sizes.push(rows.length);
      if (sizes.length === 3) throw failure;
      return [{}];
    }) as never);
    const many = Array.from({ length: 1100 }, (_, i) => ({ ...event, event_id: `e${i}` }));
    await assert.rejects(warehouse().write({ accepted: many, orderLines: [], rejected: [], duplicates: [], arrivals: [] }), (err: Error) => {
      assert.equal(err.message, 'streaming insert of 1100 rows into raw.events failed');
      assert.equal(err.cause, failure);
      return true;
    });
    assert.deepEqual(sizes, [500, 500, 100]);
  });

  it('runs queries as parameterized jobs, typing nulls and empty arrays, and returns plain values', async () => {
    const job = new Job(bigquery, 'job-1', { location: 'EU' });
    const createQueryJob = sandbox.stub(BigQuery.prototype, 'createQueryJob').resolves([job, {}] as never);
    const getQueryResults = sandbox.stub(job, 'getQueryResults').resolves([
      [
        {
          merchant_id: 'm1',
          orders: new BigQueryInt('12'),
          huge: new BigQueryInt('9007199254740993'),
          hour: new BigQueryTimestamp('2026-11-21T09:00:00.000Z'),
          day: new BigQueryDate('2026-11-21'),
        },
      ],
    ] as never);
    const rows = await warehouse().query('select 1 where merchant_id = @m and store_id = @s and sku in unnest(@skus)', {
      m: 'm1',
      s: null,
      skus: [],
      from: new Date('2026-11-21T00:00:00Z'),
    });
    assert.deepEqual(createQueryJob.firstCall.args[0], {
      query: 'select 1 where merchant_id = @m and store_id = @s and sku in unnest(@skus)',
      location: 'EU',
      useLegacySql: false,
      params: { m: 'm1', s: null, skus: [], from: new Date('2026-11-21T00:00:00Z') },
      types: { s: 'STRING', skus: ['STRING'] },
    });
    assert.deepEqual(getQueryResults.firstCall.args[0], { wrapIntegers: true });
    assert.deepEqual(rows, [{ merchant_id: 'm1', orders: 12, huge: 9007199254740993n, hour: new Date('2026-11-21T09:00:00.000Z'), day: '2026-11-21' }]);
  });

  it('hands a query\'s rows over a page at a time, asking for each next page with the token of the one before', async () => {
    const job = new Job(bigquery, 'job-pages', { location: 'EU' });
    sandbox.stub(BigQuery.prototype, 'createQueryJob').resolves([job, {}] as never);
    const getQueryResults = sandbox.stub(job, 'getQueryResults');
    // https://cloud.google.com/bigquery/docs/paging-results: each answer names the next page, the last none
    getQueryResults.onCall(0).resolves([[{ n: new BigQueryInt('1') }, { n: new BigQueryInt('2') }], { pageToken: 't-2', autoPaginate: false }, {}] as never);
    getQueryResults.onCall(1).resolves([[{ n: new BigQueryInt('3') }], null, {}] as never);
    const pages: unknown[][] = [];
    let open = 0;
    await warehouse().queryPages!('select n from t', undefined, async (rows) => {
      open++;
      assert.equal(open, 1, 'one page at a time');
      pages.push(rows);
      await new Promise((r) => setImmediate(r));
      open--;
    });
    assert.deepEqual(pages, [[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
    assert.deepEqual(getQueryResults.args.map((a) => a[0]), [
      { wrapIntegers: true, autoPaginate: false, maxResults: 10_000 },
      { wrapIntegers: true, autoPaginate: false, maxResults: 10_000, pageToken: 't-2' },
    ]);
  });

  it('runs a statement and waits for it to finish', async () => {
    const job = new Job(bigquery, 'job-2', { location: 'EU' });
    const createQueryJob = sandbox.stub(BigQuery.prototype, 'createQueryJob').resolves([job, {}] as never);
    const getQueryResults = sandbox.stub(job, 'getQueryResults').resolves([[]] as never);
    await warehouse().run('delete from marts.x where hour_start >= @from', { from: new Date('2026-11-21T00:00:00Z') });
    assert.deepEqual(createQueryJob.firstCall.args[0], {
      query: 'delete from marts.x where hour_start >= @from',
      location: 'EU',
      useLegacySql: false,
      params: { from: new Date('2026-11-21T00:00:00Z') },
    });
    assert.equal(getQueryResults.callCount, 1);
  });

  it('reports the bytes a dry run would scan', async () => {
    const job = new Job(bigquery, 'dry', { location: 'EU' });
    job.metadata = { statistics: { totalBytesProcessed: '123456789' } };
    const createQueryJob = sandbox.stub(BigQuery.prototype, 'createQueryJob').resolves([job, {}] as never);
    assert.equal(await warehouse().dryRun('select * from raw.events where event_ts >= @from', { from: new Date('2026-11-01T00:00:00Z') }), 123456789);
    assert.deepEqual(createQueryJob.firstCall.args[0], {
      query: 'select * from raw.events where event_ts >= @from',
      location: 'EU',
      useLegacySql: false,
      params: { from: new Date('2026-11-01T00:00:00Z') },
      dryRun: true,
    });
  });

  it('names the statement when a query job cannot be created', async () => {
    const cause = new Error('Syntax error: Unexpected keyword');
    sandbox.stub(BigQuery.prototype, 'createQueryJob').rejects(cause);
    await assert.rejects(warehouse().query('selec 1\nfrom x'), (err: Error) => err.message === 'BigQuery query job failed: selec 1' && err.cause === cause);
  });

  it('puts maximumBytesBilled on every job but dry runs, and names the ceiling when BigQuery refuses a job for it', async () => {
    const job = new Job(bigquery, 'capped', { location: 'EU' });
    const refusal = Object.assign(new Error('Query exceeded limit for bytes billed: 1000000000. 2097152000 or higher required.'), {
      errors: [{ reason: 'bytesBilledLimitExceeded', message: 'Query exceeded limit for bytes billed: 1000000000. 2097152000 or higher required.' }],
    });
    sandbox.stub(job, 'getQueryResults').rejects(refusal);
    const createQueryJob = sandbox.stub(BigQuery.prototype, 'createQueryJob').resolves([job, {}] as never);
    const capped = createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw', maximumBytesBilled: 1_000_000_000 });
    await assert.rejects(
      capped.run('merge into marts.mart_hourly_store_sales as target\nusing (…)', {}),
      (err: Error) =>
        err instanceof BytesBilledLimitError &&
        err.message ===
          'BigQuery refused merge into marts.mart_hourly_store_sales as target: it would bill more than maximumBytesBilled (1000000000 bytes; TILLSTREAM_MAX_BYTES_BILLED). Narrow the run, or raise the ceiling after a dry run.' &&
        err.cause === refusal,
    );
    assert.equal((createQueryJob.firstCall.args[0] as Query).maximumBytesBilled, '1000000000');
    job.metadata = { statistics: { totalBytesProcessed: '5' } };
    await capped.dryRun('select 1', {});
    assert.equal((createQueryJob.secondCall.args[0] as Query).maximumBytesBilled, undefined);
  });
});
