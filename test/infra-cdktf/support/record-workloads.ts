// Runs each deployed workload's real entry point — the functions of functions/index.ts, a task of the
// export job (services/export-job/main.ts) and the query API server — on the gcp runtime, configured with the environment the synthesized stack gives
// it, with the Google clients' calls recorded instead of sent: which BigQuery statements and inserts,
// Pub/Sub topics, Cloud Storage buckets, Bigtable tables, secrets and Cloud Run jobs each workload's code touches.
// Writes one JSON document, { touches: Touch[] }, to the file named by its argument (stdout carries
// the functions' own logs). A child process of permissions.it.test.ts, so the
// process-wide runtime and environment it sets never reach other tests.
import { BigQuery, Table as BigQueryTable } from '@google-cloud/bigquery';
import { Bigtable, type Table as BigtableTable } from '@google-cloud/bigtable';
import { managedwriter } from '@google-cloud/bigquery-storage';
import { Topic } from '@google-cloud/pubsub';
import { Bucket, File } from '@google-cloud/storage';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { GoogleAuth } from 'google-auth-library';
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import pino from 'pino';
import sinon from 'sinon';
import request from 'supertest';
import { encodeMessage } from '../../../adapters/gcp/bus-codec.js';
import { createKey } from '../../../pipeline/auth/keys.js';
import type { KeyRecord } from '../../../pipeline/ports.js';
import { inventory, order, RECEIVED_AT } from '../../pipeline/ingest/fixtures.js';
import { archiveObject } from '../../support/archive-avro.js';
import { synthesize, type Block } from '../synth.js';

export type Workload = 'ingestEvents' | 'ingestPosBatch' | 'startExport' | 'exportMarts' | 'collect' | 'queryApi' | 'evaluateAlerts' | 'deliverAlert' | 'reprocess';
export interface Touch {
  workload: Workload;
  service: 'bigquery' | 'bigquery-job' | 'bigtable' | 'pubsub' | 'storage' | 'secret' | 'run';
  /** dataset.table, table id, topic, bucket, secret or Cloud Run job; the statement text for bigquery-job. */
  resource: string;
  access: 'read' | 'write';
  op: string;
  /** Bigtable: the app profile the client sent the call through (none: the instance's default). */
  profile?: string;
  /** Bigtable writes: the column families the call's mutations name. */
  families?: string[];
  /** BigQuery query jobs: the maximumBytesBilled the job carried (none: it bills whatever it reads), and whether it was a dry run. */
  maximumBytesBilled?: string;
  dryRun?: boolean;
}

const touches: Touch[] = [];
let current: Workload | undefined;
const touch = (t: Omit<Touch, 'workload'>) => {
  if (!current) throw new Error(`a ${t.service} call outside any workload: ${t.resource}`);
  touches.push({ workload: current, ...t });
  if (process.env.RECORD_TRACE) console.error(`  ${t.service} ${t.op} ${t.resource.slice(0, 80)}`);
};
const last = (name: string) => name.split('/').at(-1)!;

const s = synthesize('prod');
const fn = (name: string) => s.find('google_cloudfunctions2_function', 'name', name);
const functionEnv = (name: string) => ({ ...(fn(name).service_config.environment_variables as Record<string, string>) });
const api = s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api');
const exportJob = s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts');
const jobEnv = Object.fromEntries((exportJob.template.template.containers[0].env as Block[]).map((e) => [e.name, e.value as string]));
const apiEnv = Object.fromEntries((api.template.containers[0].env as Block[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));

// The pepper is a mounted secret: a workload gets it when the stack mounts it.
const pepper = Buffer.alloc(32, 7);
const mountsPepper = (b: Block) =>
  (b.service_config?.secret_environment_variables as Block[] | undefined)?.some((v) => v.key === 'TILLSTREAM_KEY_PEPPER') ??
  (b.template?.containers[0].env as Block[]).some((e) => e.name === 'TILLSTREAM_KEY_PEPPER' && e.value_source);

// Keys the collector and the API look up: what `tillstream keys create` would have stored.
const ingestKey = createKey(pepper, { kind: 'ingest', merchantId: 'pizzaco', now: new Date('2026-11-01T00:00:00Z') });
const readKey = createKey(pepper, { kind: 'read', merchantId: 'pizzaco', now: new Date('2026-11-01T00:00:00Z') });
const manageKey = createKey(pepper, { kind: 'manage', merchantId: 'pizzaco', now: new Date('2026-11-01T00:00:00Z') });
const keyRows = new Map<string, KeyRecord>([ingestKey, readKey, manageKey].map((k) => [`h#${k.record.hash}`, k.record]));

// Documents of the series table: a merchant with one alert rule of each kind, so every alert
// evaluation runs its SQL and finds something to queue, and a webhook that never resolves
// (.invalid, RFC 6761), so a delivery fails and waits.
const documents = new Map<string, unknown>([
  ['_alerts#merchants', ['pizzaco']],
  [
    'pizzaco#alerts#settings',
    {
      merchant_id: 'pizzaco',
      webhook_url: 'https://hooks.tillstream.invalid/alerts',
      signing_secret: 'whsec_recording',
      rules: [
        { id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*' },
        { id: 'drop', kind: 'sales_drop', enabled: true, store_id: '*', fraction: 0.5, min_baseline_minor: 100 },
        { id: 'quiet', kind: 'feed_silent', enabled: true, store_id: '*', silent_minutes: 30 },
        { id: 'late', kind: 'freshness', enabled: true, lag_minutes: 60 },
      ],
    },
  ],
]);

const dimensionsFile = JSON.stringify({
  merchants: [{ id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' }],
  stores: [
    { id: 's001', merchant_id: 'pizzaco', name: 'Mitte', city: 'Berlin', region: 'BE' },
    { id: 's002', merchant_id: 'pizzaco', name: 'Soho', city: 'London', region: 'ENG', time_zone: 'Europe/London' },
  ],
  fraud_ips: [],
});

// ---- Bigtable: reads, mutations, conditional mutations. The classes that hold these methods are not
// exported; their prototypes are those of a table and a row.
const sampleTable = new Bigtable({ projectId: 'p', metricsEnabled: false }).instance('i').table('t');
const tableMethods = Object.getPrototypeOf(Object.getPrototypeOf(sampleTable)) as BigtableTable;
/** A client method answered either through its callback (the library's own internal calls) or as a promise. */
const answered = (args: unknown[], result: unknown[]) => {
  const callback = args.at(-1);
  if (typeof callback === 'function') {
    queueMicrotask(() => (callback as (...a: unknown[]) => void)(null, ...result));
    return undefined;
  }
  return Promise.resolve(result);
};
/** The app profile a table's client sends its calls through. */
const profileOf = (table: BigtableTable): { profile?: string } => (table.bigtable.appProfileId ? { profile: table.bigtable.appProfileId } : {});
sinon.stub(tableMethods, 'getRows').callsFake(function (this: BigtableTable, ...args: unknown[]) {
  touch({ service: 'bigtable', resource: last(this.name), access: 'read', op: 'ReadRows', ...profileOf(this) });
  const opts = (typeof args[0] === 'object' ? args[0] : {}) as { keys?: string[] };
  const rows = (opts.keys ?? []).flatMap((k): { id: string; data: Record<string, Record<string, { value: Buffer }[]>> }[] => {
    const id = String(k);
    if (keyRows.has(id)) return [{ id, data: { k: { record: [{ value: Buffer.from(JSON.stringify(keyRows.get(id))) }] } } }];
    if (documents.has(id)) return [{ id, data: { d: { json: [{ value: Buffer.from(JSON.stringify(documents.get(id))) }] } } }];
    return [];
  });
  return answered(args, [rows]) as never;
} as never);
/**
 * The column families a write names, in any form the client takes or sends: raw and proto mutations
 * (`familyName`), high-level inserts (`data` keyed by family) and deletes (`family` or `family:qualifier`).
 */
function familiesOf(value: unknown, out = new Set<string>()): string[] {
  if (Array.isArray(value)) value.forEach((v) => familiesOf(v, out));
  else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.familyName === 'string') out.add(o.familyName);
    if (o.method === 'insert' && o.data && typeof o.data === 'object') Object.keys(o.data).forEach((f) => out.add(f));
    if (o.method === 'delete' && Array.isArray(o.data)) o.data.forEach((c) => out.add(String(c).split(':')[0]!));
    for (const [k, v] of Object.entries(o)) if (k !== 'data' && k !== 'predicateFilter') familiesOf(v, out);
  }
  return [...out].sort();
}
sinon.stub(tableMethods, 'mutate').callsFake(function (this: BigtableTable, ...args: unknown[]) {
  touch({ service: 'bigtable', resource: last(this.name), access: 'write', op: 'MutateRows', ...profileOf(this), families: familiesOf(args[0]) });
  return answered(args, []) as never;
} as never);
sinon.stub(tableMethods, 'createReadStream').callsFake(function (this: BigtableTable) {
  touch({ service: 'bigtable', resource: last(this.name), access: 'read', op: 'ReadRows', ...profileOf(this) });
  return Readable.from([]) as never;
} as never);
// Single-row calls (CheckAndMutateRow, ReadModifyWriteRow, MutateRow) go through the client's unary
// request; anything else fails at once, naming the call, instead of waiting on the network.
/** A ReadModifyWriteRow answer: each rule's cell, as if it held nothing before (an increment's value is its amount). */
type Rule = { familyName: string; columnQualifier: Buffer; incrementAmount?: number | string; appendValue?: Buffer };
function modifiedRow(rules: Rule[]): object {
  const families = new Map<string, { qualifier: Buffer; cells: { value: Buffer; timestampMicros: number; labels: string[] }[] }[]>();
  for (const r of rules) {
    const value = r.appendValue ?? Buffer.alloc(8);
    if (!r.appendValue) value.writeBigInt64BE(BigInt(r.incrementAmount ?? 0));
    const columns = families.get(r.familyName) ?? [];
    columns.push({ qualifier: Buffer.from(r.columnQualifier), cells: [{ value, timestampMicros: 0, labels: [] }] });
    families.set(r.familyName, columns);
  }
  return { row: { key: Buffer.from(''), families: [...families].map(([name, columns]) => ({ name, columns })) } };
}
const UNARY: Record<string, { op: string; answer: (reqOpts: { rules?: Rule[] }) => object }> = {
  checkAndMutateRow: { op: 'CheckAndMutateRow', answer: () => ({ predicateMatched: false }) },
  readModifyWriteRow: { op: 'ReadModifyWriteRow', answer: (req) => modifiedRow(req.rules ?? []) },
  mutateRow: { op: 'MutateRow', answer: () => ({}) },
};
sinon.stub(Bigtable.prototype, 'request').callsFake(function (this: Bigtable, config: { method: string; reqOpts: { tableName?: string; rules?: Rule[] } }, callback?: (err: Error | null, res?: object) => void) {
  const unary = UNARY[config.method];
  if (!unary || !callback) throw new Error(`a Bigtable ${config.method} call the recorder does not know: record it in support/record-workloads.ts`);
  touch({ service: 'bigtable', resource: last(config.reqOpts.tableName ?? ''), access: 'write', op: unary.op, ...(this.appProfileId ? { profile: this.appProfileId } : {}), families: familiesOf(config.reqOpts) });
  callback(null, unary.answer(config.reqOpts));
} as never);

// ---- BigQuery: query jobs (the statement is kept for analysis) and streaming inserts.
const MART_STEMS = ['mart_hourly_store_sales', 'mart_daily_merchant_sales'];
/** Rows each alert query (sql/alerts/, named by its first line) returns: each condition holds, so each rule fires. */
const ALERT_ROWS: Record<string, Record<string, unknown>[]> = {
  low_stock: [{ merchant_id: 'pizzaco', store_id: 's001', sku: 'sku-1', hour_start: new Date('2026-11-21T11:00:00Z'), closing_quantity: 1, low_stock: 1 }],
  sales_drop: [{ merchant_id: 'pizzaco', store_id: 's001', hour_start: new Date('2026-11-21T11:00:00Z'), net_revenue_minor: 10, baseline_median_minor: 1000 }],
  feed_silent: [{ merchant_id: 'pizzaco', store_id: 's001', last_pos_received_at: new Date('2026-11-21T11:00:00Z') }],
  freshness: [{ merchant_id: 'pizzaco', oldest_pending_hour: new Date('2026-11-21T08:00:00Z') }],
};
function answer(sql: string): Record<string, unknown>[] {
  // The transfer run's one mart run, and its windows.
  if (/select distinct run_id\s+from marts\.mart_runs\s+where kind = 'scheduled' and started_at/.test(sql)) return [{ run_id: 'run-1' }];
  if (/from marts\.mart_runs\s+where run_id = @run_id/.test(sql)) {
    // The run finalized the hours through 12:00: the exporter then evaluates the mart alert rules.
    return MART_STEMS.map((mart) => ({ mart, window_start: new Date('2026-11-21T10:00:00Z'), window_end: new Date('2026-11-21T12:00:00Z'), finalized_through: new Date('2026-11-21T12:00:00Z') }));
  }
  const alert = /^-- alert_(\w+)/.exec(sql)?.[1];
  if (alert) {
    const rows = ALERT_ROWS[alert];
    if (!rows) throw new Error(`no recorded answer for sql/alerts/alert_${alert}.sql`);
    return rows;
  }
  if (/from dims\.merchants/.test(sql)) return [{ merchant_id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' }];
  return [];
}
sinon.stub(BigQuery.prototype, 'createQueryJob').callsFake(async function (opts: { query: string; maximumBytesBilled?: string | number; dryRun?: boolean }) {
  touch({
    service: 'bigquery-job',
    resource: opts.query,
    access: 'read',
    op: 'jobs.insert',
    ...(opts.maximumBytesBilled !== undefined ? { maximumBytesBilled: String(opts.maximumBytesBilled) } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
  });
  return [{ getQueryResults: async () => [answer(opts.query)], metadata: {} }] as never;
} as never);
// Raw rows go through the Storage Write API's default stream: one connection per table, rows appended.
sinon.stub(managedwriter.WriterClient.prototype, 'createStreamConnection').callsFake((async (req: { destinationTable: string }) => {
  const [, , , dataset, , table] = req.destinationTable.split('/');
  return { destination: `${dataset}.${table}`, onSchemaUpdated: () => ({ off() {} }), close() {} };
}) as never);
sinon.stub(managedwriter.JSONWriter.prototype, 'appendRows').callsFake(function (this: { _writer: { _streamConnection: { destination: string } } }) {
  touch({ service: 'bigquery', resource: this._writer._streamConnection.destination, access: 'write', op: 'AppendRows' });
  return { getResult: async () => ({}) } as never;
} as never);
sinon.stub(managedwriter.JSONWriter.prototype, 'close').callsFake(() => undefined);
sinon.stub(BigQueryTable.prototype, 'insert').callsFake(async function (this: BigQueryTable) {
  touch({ service: 'bigquery', resource: `${this.dataset.id}.${this.id}`, access: 'write', op: 'tabledata.insertAll' });
  return [{}] as never;
});
sinon.stub(BigQueryTable.prototype, 'load').callsFake(async function (this: BigQueryTable) {
  touch({ service: 'bigquery', resource: `${this.dataset.id}.${this.id}`, access: 'write', op: 'jobs.insert(load)' });
  return [{}] as never;
} as never);

// ---- Cloud Run Admin API calls (adapters/gcp/run-jobs.ts): jobs.run, with overrides when a body carries them.
sinon.stub(GoogleAuth.prototype, 'request').callsFake(async function (opts: { url?: string; method?: string; data?: { overrides?: unknown } }) {
  const m = /^https:\/\/run\.googleapis\.com\/v2\/projects\/[^/]+\/locations\/[^/]+\/jobs\/([^/:]+):run$/.exec(opts.url ?? '');
  if (!m || opts.method !== 'POST') throw new Error(`a Google API call the recorder does not know: ${opts.method} ${opts.url}`);
  touch({ service: 'run', resource: m[1]!, access: 'write', op: opts.data?.overrides ? 'jobs.run(overrides)' : 'jobs.run' });
  return { data: { name: 'projects/p/locations/l/operations/recorded' } } as never;
} as never);

// ---- Pub/Sub publishes and Cloud Storage object reads and writes.
let published = 0;
sinon.stub(Topic.prototype, 'publishMessage').callsFake(async function (this: Topic) {
  touch({ service: 'pubsub', resource: last(this.name), access: 'write', op: 'Publish' });
  return `m-${++published}` as never;
} as never);
const objects: Record<string, string | Buffer> = {
  'dimensions/current.json': dimensionsFile,
  'pos/2026-11-21/s001.ndjson': [JSON.stringify({ ...order(), source: 'pos', event_id: 'pos-1' })].join('\n') + '\n',
};
sinon.stub(File.prototype, 'download').callsFake(async function (this: File) {
  touch({ service: 'storage', resource: this.bucket.name, access: 'read', op: 'objects.get' });
  const body = objects[this.name];
  if (body === undefined) throw Object.assign(new Error(`no object ${this.name}`), { code: 404 });
  return [Buffer.isBuffer(body) ? body : Buffer.from(body)] as never;
} as never);
sinon.stub(File.prototype, 'getMetadata').callsFake(async function (this: File) {
  touch({ service: 'storage', resource: this.bucket.name, access: 'read', op: 'objects.get' });
  return [{ generation: '1' }] as never;
} as never);
// The payload archive: one Avro object of the Cloud Storage subscription (write_metadata) on the day re-validated.
const ARCHIVE_OBJECT = 'archive/2026-11-21/12_05_00Z-recorded.avro';
async function recordedArchiveObject(): Promise<Buffer> {
  const m = encodeMessage({ receivedAt: RECEIVED_AT, attributes: { source: 'online', key_merchant_id: 'pizzaco' }, entries: [JSON.stringify(order())] });
  return archiveObject([{ subscription_name: 'projects/p/subscriptions/archive', message_id: 'archived-1', publish_time: (RECEIVED_AT.getTime() + 1000) * 1000, attributes: m.attributes, data: m.data }]);
}
sinon.stub(Bucket.prototype, 'getFiles').callsFake(async function (this: Bucket, query?: { prefix?: string }) {
  touch({ service: 'storage', resource: this.name, access: 'read', op: 'objects.list' });
  const names = Object.keys(objects).filter((n) => n.startsWith(query?.prefix ?? ''));
  return [names.map((n) => Object.assign(this.file(n), { metadata: { name: n, timeCreated: '2026-11-21T12:05:00Z' } }))] as never;
} as never);
sinon.stub(File.prototype, 'save').callsFake(async function (this: File) {
  touch({ service: 'storage', resource: this.bucket.name, access: 'write', op: 'objects.insert' });
} as never);

/** Runs one workload's request and checks it succeeded (a workload that fails touches too little). */
async function run(workload: Workload, drive: () => Promise<{ status: number; body: unknown }>, ok: (status: number) => boolean): Promise<void> {
  current = workload;
  console.error(`recording ${workload}`);
  const res = await drive();
  current = undefined;
  if (!ok(res.status)) throw new Error(`${workload} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

const push = (data: string | Buffer, attributes: Record<string, string> = {}, messageId = '1') => ({
  message: { data: Buffer.from(data).toString('base64'), attributes, messageId, publishTime: '2026-11-21T13:00:01.000Z' },
  subscription: 'projects/tillstream-prod/subscriptions/any',
});

async function main(): Promise<void> {
  // One process-wide environment for the functions: they share every name; only the app profile
  // differs per function, and no resource the code touches depends on it.
  for (const k of Object.keys(process.env)) if (k.startsWith('TILLSTREAM_')) delete process.env[k];
  Object.assign(process.env, functionEnv('tillstream-ingest-events'), { TILLSTREAM_KEY_PEPPER: pepper.toString('hex') });
  const { gcpRuntime } = await import('../../../runtime/gcp.js');
  // Which function reads the pepper: the runtime hands it out through pepper().
  const rt = gcpRuntime();
  const givePepper = rt.pepper.bind(rt);
  rt.pepper = () => {
    touch({ service: 'secret', resource: 'TILLSTREAM_KEY_PEPPER', access: 'read', op: 'env' });
    return givePepper();
  };
  await import('../../../functions/index.js');
  // The alerts topic is the one name that differs between functions (only the alert evaluators and
  // deliverAlert are given it): each function's handler is built with its own deployed value.
  const withAlertsTopicOf = (name: string) => {
    const topic = functionEnv(name).TILLSTREAM_ALERTS_TOPIC;
    if (topic) rt.config.pubsub.alertsTopic = topic;
    else delete rt.config.pubsub.alertsTopic;
  };

  const message = encodeMessage({ receivedAt: RECEIVED_AT, attributes: { source: 'online', key_merchant_id: 'pizzaco' }, entries: [JSON.stringify(order()), JSON.stringify(inventory())] });
  withAlertsTopicOf('tillstream-ingest-events');
  await run('ingestEvents', () => request(getTestServer('ingestEvents')).post('/').send(push(message.data, message.attributes)), (st) => st === 200);
  // A backfill reaching further back than the Storage Write API writes (10 years): its rows go in by DML.
  const ancient = { ...order(), event_id: 'ord-2012', event_ts: '2012-03-01T12:00:00Z' };
  const backfill = encodeMessage({ receivedAt: RECEIVED_AT, attributes: { source: 'online', key_merchant_id: 'pizzaco', backfill: '1' }, entries: [JSON.stringify(ancient)] });
  await run('ingestEvents', () => request(getTestServer('ingestEvents')).post('/').send(push(backfill.data, backfill.attributes, '2')), (st) => st === 200);

  const notification = { bucket: functionEnv('tillstream-ingest-pos-batch').TILLSTREAM_POS_BUCKET, name: 'pos/2026-11-21/s001.ndjson', generation: '1', timeCreated: '2026-11-21T13:00:00Z' };
  withAlertsTopicOf('tillstream-ingest-pos-batch');
  await run('ingestPosBatch', () => request(getTestServer('ingestPosBatch')).post('/').send(push(JSON.stringify(notification), { eventType: 'OBJECT_FINALIZE' })), (st) => st === 200);

  const transferRun = { name: 'projects/1/locations/eu/transferConfigs/c/runs/r', state: 'SUCCEEDED', runTime: '2026-11-21T13:05:00Z', endTime: '2026-11-21T13:09:00Z' };
  process.env.TILLSTREAM_EXPORT_JOB = fn('tillstream-start-export').service_config.environment_variables.TILLSTREAM_EXPORT_JOB;
  await run('startExport', () => request(getTestServer('startExport')).post('/').send(push(JSON.stringify(transferRun))), (st) => st === 200);

  // A task of the export job: its own container, with the job's environment and what the execution's override adds.
  const { runExportTask } = await import('../../../services/export-job/main.js');
  const { encodeRun, EXPORT_RUN_ENV } = await import('../../../services/export-job/run.js');
  const finished = { name: transferRun.name, state: 'SUCCEEDED', runTime: new Date(transferRun.runTime), endTime: new Date(transferRun.endTime) };
  await run(
    'exportMarts',
    () =>
      runExportTask({ ...jobEnv, [EXPORT_RUN_ENV]: encodeRun(finished), CLOUD_RUN_TASK_INDEX: '0', CLOUD_RUN_TASK_COUNT: String(exportJob.template.task_count) }, pino({ level: 'silent' })).then(
        (summary) => ({ status: 200, body: summary }),
        (err: Error) => ({ status: 500, body: String(err.stack) }),
      ),
    (st) => st === 200,
  );

  // The scheduled alert rules, called by the scheduler job as of its scheduled time.
  withAlertsTopicOf('tillstream-evaluate-alerts');
  await run(
    'evaluateAlerts',
    () => request(getTestServer('evaluateAlerts')).post('/').set('x-cloudscheduler-scheduletime', '2026-11-21T13:02:00Z').send({}),
    (st) => st === 200,
  );

  // One alert through deliverAlert: the webhook fails (503, retried), then the copy Pub/Sub brings
  // back near its attempt limit is published again and acked.
  const alert = { id: 'alt_recording', type: 'alert.fired', merchant_id: 'pizzaco', rule_id: 'late', kind: 'freshness', subject: {}, at: '2026-11-21T13:02:00.000Z', details: {} };
  const alertPush = (deliveryAttempt: number) => ({ ...push(JSON.stringify(alert)), deliveryAttempt });
  withAlertsTopicOf('tillstream-deliver-alert');
  await run('deliverAlert', () => request(getTestServer('deliverAlert')).post('/').send(alertPush(1)), (st) => st === 503);
  await run('deliverAlert', () => request(getTestServer('deliverAlert')).post('/').send(alertPush(95)), (st) => st === 204);

  withAlertsTopicOf('tillstream-collect');
  await run(
    'collect',
    () => request(getTestServer('collect')).post('/v1/events').set('authorization', `Bearer ${ingestKey.key}`).set('content-type', 'application/json').send([order()]),
    (st) => st === 202,
  );

  // The query API: its own process in production, with its own environment.
  const { startQueryApiServer } = await import('../../../services/query-api/server.js');
  const { openReadStores } = await import('../../../runtime/select.js');
  current = 'queryApi';
  const env = { ...apiEnv, ...(mountsPepper(api) ? { TILLSTREAM_KEY_PEPPER: pepper.toString('hex') } : {}) };
  // It reads the pepper at start-up: without the secret it must refuse to start.
  const { TILLSTREAM_KEY_PEPPER: _mounted, ...withoutPepper } = env;
  if (await openReadStores(withoutPepper).then(() => false, (err: Error) => /TILLSTREAM_KEY_PEPPER/.test(err.message))) {
    touch({ service: 'secret', resource: 'TILLSTREAM_KEY_PEPPER', access: 'read', op: 'env' });
  }
  const server = await startQueryApiServer({ env, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
  try {
    await run('queryApi', () => request(server.url).get('/v1/merchants/pizzaco/freshness').set('authorization', `Bearer ${readKey.key}`), (st) => st === 200 || st === 404);
    // The alert routes: a merchant sets its webhook (a literal public address: no DNS needed) and reads its history.
    await run(
      'queryApi',
      () => request(server.url).put('/v1/merchants/pizzaco/alerts/webhook').set('authorization', `Bearer ${manageKey.key}`).send({ url: 'https://93.184.216.34/hooks' }),
      (st) => st === 200,
    );
    await run('queryApi', () => request(server.url).get('/v1/merchants/pizzaco/alerts').set('authorization', `Bearer ${readKey.key}`), (st) => st === 200);
  } finally {
    await server.close();
  }

  // `tillstream reprocess --revalidate` on gcp, as an operator runs it with the stack's reprocess
  // environment (the reprocess-environment output), as ts-reprocess: the archive re-read shard by
  // shard with its checkpoint, each message through the ingest stage again, the marts rebuilt.
  objects[ARCHIVE_OBJECT] = await recordedArchiveObject();
  const reprocessEnv = s.json.output?.['reprocess-environment']?.value as Record<string, string>;
  const { gcpMartDeps } = await import('../../../runtime/gcp.js');
  const { gcpRuntimeFrom } = await import('../../../runtime/select.js');
  const { reprocess } = await import('../../../pipeline/marts/reprocess.js');
  await run(
    'reprocess',
    async () => {
      const deps = gcpMartDeps(await gcpRuntimeFrom({ ...reprocessEnv, TILLSTREAM_KEY_PEPPER: undefined }), { clock: { now: () => new Date('2026-11-21T13:30:00Z') } });
      return reprocess(deps, { from: new Date('2026-11-21T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z'), revalidate: true }).then(
        (r) => ({ status: 200, body: r.revalidation }),
        (err: Error) => ({ status: 500, body: String(err.stack) }),
      );
    },
    (st) => st === 200,
  );

  // The pepper is a secret mounted per workload: name it by the stack's secret.
  const secretId = s.resources('google_secret_manager_secret') && Object.values(s.resources('google_secret_manager_secret'))[0]!.secret_id;
  const out = touches.map((t) => (t.service === 'secret' ? { ...t, resource: secretId as string } : t));
  writeFileSync(process.argv[2]!, JSON.stringify({ touches: out }) + '\n');
}

// A call the recorder does not answer would wait forever: name the workload that hangs instead.
setTimeout(() => {
  console.error(`the recording did not finish within 90 s (last workload: ${current ?? 'none'}): a client call is not recorded`);
  process.exit(3);
}, 90_000).unref();

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
