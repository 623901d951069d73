// The Storage Write API sink against a fake of the generated BigQueryWrite client: the managed
// writer's own StreamConnection and JSONWriter run unchanged and send real AppendRowsRequest
// objects into the fake's AppendRows stream; the test decodes their serialized rows with the
// writer schema they carry, as the service would, and answers as the service does.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { managedwriter } from '@google-cloud/bigquery-storage';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { BigQuery } from '@google-cloud/bigquery';
import { createBigQueryWarehouse } from '../../../adapters/gcp/bigquery-warehouse.js';
import { createStorageWriteSink, DML_MAX_BYTES_BILLED, protoDescriptorOf, writeApiRange } from '../../../adapters/gcp/bigquery-storage-sink.js';
import { replacingSink } from '../../../pipeline/marts/replacing-sink.js';
import { RowsRefusedError, type IngestWrite } from '../../../pipeline/ports.js';
import { rawEvents, rawOrderLines } from '../../../pipeline/schema/raw.js';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import { InMemoryDedupeIndex } from '../../support/in-memory-dedupe-index.js';
import { dimensions, inventory, message, order } from '../../pipeline/ingest/fixtures.js';
import { APPEND_ROWS_MAX_BYTES, STORAGE_WRITE_PARTITION_RANGE } from '../../infra-cdktf/platform-facts.js';

interface AppendRequest {
  writeStream?: string;
  protoRows?: { writerSchema?: { protoDescriptor?: unknown }; rows?: { serializedRows?: Uint8Array[] } };
}
type Answer = (req: AppendRequest) => Record<string, unknown>;

/** The generated client's surface the managed writer uses: initialize() and the AppendRows bidi stream. */
function fakeWriteClient(answer: { current: Answer }) {
  const requests: AppendRequest[] = [];
  let streams = 0;
  const gapic = {
    initialize: async () => undefined,
    appendRows: () => {
      streams++;
      const d: Duplex = new Duplex({
        objectMode: true,
        read() {},
        write(req: AppendRequest, _enc, cb) {
          requests.push(req);
          const res = answer.current(req);
          setImmediate(() => d.push(res));
          cb();
        },
      });
      return d;
    },
    close: async () => undefined,
  };
  const writeClient = new managedwriter.WriterClient({ projectId: 'tillstream-test' });
  writeClient.setClient(gapic as never);
  return { writeClient, requests, streams: () => streams };
}

/** Decodes a request's rows with the descriptor the request carries (the first request of a connection). */
function decodeRows(schemaOf: AppendRequest, req: AppendRequest): Record<string, unknown>[] {
  // Through the DescriptorProto message type, so enum names and numbers both read right.
  const d = (descriptor as unknown as { DescriptorProto: protobuf.Type }).DescriptorProto.fromObject(schemaOf.protoRows!.writerSchema!.protoDescriptor as object);
  const type = (protobuf.Type as unknown as { fromDescriptor(d: unknown): protobuf.Type }).fromDescriptor(d);
  return req.protoRows!.rows!.serializedRows!.map((b) => type.toObject(type.decode(b), { longs: String, defaults: false, arrays: true }));
}

const ok: Answer = () => ({ appendResult: {} });

/** Real rows of every raw table, as the ingest stage builds them from the shared fixtures. */
async function stageWrite(): Promise<IngestWrite> {
  let captured: IngestWrite | undefined;
  const stage = createIngestStage({
    dimensions: async () => dimensions,
    dedupe: new InMemoryDedupeIndex(),
    sink: { write: async (w) => void (captured = w) },
    clock: { now: () => new Date('2026-11-21T12:00:02Z') },
  });
  await stage(message('1001', [JSON.stringify(order()), JSON.stringify(inventory()), '{broken', JSON.stringify(order())]));
  return captured!;
}
const only = (w: IngestWrite, part: Partial<IngestWrite>): IngestWrite => ({ accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [], ...part });
const micros = (d: unknown) => String(new Date(d as string | Date).getTime() * 1000);

describe('gcp BigQuery Storage Write API sink (fake BigQueryWrite client)', () => {
  it('appends each table\'s rows to its default stream as protobuf rows of the schema source\'s descriptor', async () => {
    const answer = { current: ok };
    const { writeClient, requests } = fakeWriteClient(answer);
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const w = await stageWrite();
    await sink.write(w);
    // Timestamps read back from the ingest journal arrive as ISO text: the same rows go out.
    await sink.write(only(w, { accepted: JSON.parse(JSON.stringify(w.accepted)) }));
    sink.close();

    // Each table's default stream, in the stage's order (raw.events first); the second write reuses the connection.
    assert.deepEqual(
      requests.map((r) => r.writeStream),
      ['events', 'order_lines', 'rejected_events', 'duplicates', 'arrivals', 'events'].map((t) => `projects/tillstream-test/datasets/raw/tables/${t}/streams/_default`),
    );
    // The writer schema is the schema source's table, column for column.
    const fields = (d: unknown) => (d as { field: { name: string }[] }).field.map((f) => f.name);
    assert.deepEqual(fields(requests[0]!.protoRows!.writerSchema!.protoDescriptor), rawEvents.columns.map((c) => c.name));
    assert.deepEqual(fields(protoDescriptorOf(rawEvents)), rawEvents.columns.map((c) => c.name));
    const events = [...decodeRows(requests[0]!, requests[0]!), ...decodeRows(requests[0]!, requests[5]!)];
    const expected = w.accepted.map((r) => [r.event_id, String(r.entry_index), micros(r.event_ts), micros(r.received_at), r.store_id, r.message_id]);
    assert.deepEqual(
      events.map((r) => [r.event_id, r.entry_index, r.event_ts, r.received_at, r.store_id, r.message_id]),
      [...expected, ...expected],
    );
    // Money as decimal text, never a float; REPEATED columns as lists.
    const lines = decodeRows(requests[1]!, requests[1]!);
    assert.deepEqual(lines.map((l) => [l.sku, l.quantity]), w.orderLines.map((l) => [l.sku, String(l.quantity)]));
    for (const l of lines) for (const [k, v] of Object.entries(l)) if (k.endsWith('_minor') || k.includes('price')) assert.equal(typeof v, 'string', k);
    assert.deepEqual(decodeRows(requests[2]!, requests[2]!).map((r) => [r.entry_index, r.reason]), [['2', 'invalid_json']]);
    assert.deepEqual(decodeRows(requests[3]!, requests[3]!).map((r) => [r.entry_index, r.first_entry_index]), [['3', '0']]);
  });

  it('reports row errors on the write\'s first request as rows refused (nothing stored), others as failures', async () => {
    const answer: { current: Answer } = { current: () => ({ rowErrors: [{ index: 0, code: 'FIELDS_ERROR', message: 'bad value' }], error: { code: 3, message: 'rows refused' } }) };
    const { writeClient } = fakeWriteClient(answer);
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const w = await stageWrite();
    await assert.rejects(sink.write(only(w, { accepted: w.accepted })), (err: Error) => err instanceof RowsRefusedError && /events/.test(err.message));
    // raw.events accepted, then raw.arrivals refused: raw.events may hold rows, so not "refused".
    let n = 0;
    answer.current = () => (n++ === 0 ? { appendResult: {} } : { rowErrors: [{ index: 0, code: 'FIELDS_ERROR', message: 'bad' }], error: { code: 3, message: 'x' } });
    await assert.rejects(sink.write(only(w, { accepted: w.accepted, arrivals: w.arrivals })), (err: Error) => !(err instanceof RowsRefusedError) && /arrivals/.test(err.message));
    sink.close();
  });

  it('reopens the connection after a failed append, and the retried write goes through', async () => {
    let fail = true;
    const answer: { current: Answer } = { current: () => (fail ? ((fail = false), { error: { code: 9, message: 'FAILED_PRECONDITION' } }) : { appendResult: {} }) };
    const { writeClient, requests, streams } = fakeWriteClient(answer);
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const w = await stageWrite();
    await assert.rejects(sink.write(only(w, { accepted: w.accepted })), /Storage Write API/);
    await sink.write(only(w, { accepted: w.accepted }));
    sink.close();
    assert.equal(requests.length, 2);
    assert.equal(streams(), 2);
  });

  it('refuses a row that misses a required column before sending anything', async () => {
    const { writeClient, requests } = fakeWriteClient({ current: ok });
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const w = await stageWrite();
    const { event_id: _drop, ...noId } = w.accepted[0]!;
    await assert.rejects(sink.write(only(w, { accepted: [noId as never] })), /raw\.events\.event_id is required/);
    sink.close();
    assert.equal(requests.length, 0);
  });
});

/**
 * The Storage Write API's partition range (test/infra-cdktf/platform-facts.ts), as the service applies
 * it: a request with a row of raw.events or raw.order_lines whose event_ts day lies outside it is
 * refused with row errors, and nothing of it is stored.
 */
function rangeEnforcingAnswer(nowMs: number): { current: Answer } {
  const schemas = new Map<string, AppendRequest>();
  const years = (n: number) => {
    const d = new Date(nowMs);
    d.setUTCFullYear(d.getUTCFullYear() + n);
    return d.getTime();
  };
  const [from, to] = [years(-STORAGE_WRITE_PARTITION_RANGE.pastYears), years(STORAGE_WRITE_PARTITION_RANGE.futureYears)];
  return {
    current: (req) => {
      if (req.protoRows?.writerSchema) schemas.set(req.writeStream!, req);
      if (!/tables\/(events|order_lines)\//.test(req.writeStream!)) return { appendResult: {} };
      const rows = decodeRows(schemas.get(req.writeStream!)!, req);
      const outside = rows.map((r, index) => ({ index, ms: Number(r.event_ts) / 1000 })).filter((r) => r.ms < from || r.ms > to);
      if (outside.length === 0) return { appendResult: {} };
      return { rowErrors: outside.map((r) => ({ index: r.index, code: 'FIELDS_ERROR', message: 'partition outside the allowed range' })), error: { code: 3, message: 'rows refused' } };
    },
  };
}

describe('gcp BigQuery Storage Write API sink and the AppendRows request limit', () => {
  it('cuts a message\'s rows into requests within 10 MB, every row once and in order', async () => {
    const sizes: number[] = [];
    // As the service: a request over the limit is refused whole.
    const answer: { current: Answer } = {
      current: (req) => {
        const bytes = (req.protoRows?.rows?.serializedRows ?? []).reduce((n, b) => n + b.length, 0);
        sizes.push(bytes);
        return bytes > APPEND_ROWS_MAX_BYTES ? { error: { code: 3, message: 'AppendRows request too large' } } : { appendResult: {} };
      },
    };
    const { writeClient, requests } = fakeWriteClient(answer);
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const w = await stageWrite();
    // A message of 9 MB (the most TILLSTREAM_BATCH_MAX_BYTES allows): 500 entries of 18 KB, each rejected
    // with a detail of 4 KB (50 listed issues): 11 MB of rows, the 500 rows of one request before.
    const template = w.rejected[0]!;
    const rejected = Array.from({ length: 500 }, (_, i) => ({
      ...template,
      entry_index: i,
      reason: 'schema_mismatch' as const,
      detail: 'body.line_items.0.quantity: Invalid input: expected number, received string; '.repeat(50).slice(0, 4000),
      payload: `{"x":"${String(i).padStart(3, '0')}${'y'.repeat(17_990)}"}`,
    }));
    await sink.write(only(w, { rejected }));
    sink.close();
    assert.ok(sizes.length > 1 && sizes.every((n) => n <= APPEND_ROWS_MAX_BYTES), JSON.stringify(sizes));
    assert.deepEqual(
      requests.flatMap((r) => decodeRows(requests[0]!, r).map((x) => x.entry_index)),
      rejected.map((r) => String(r.entry_index)),
    );
  });
});

describe('gcp BigQuery Storage Write API sink and the partition range it writes', () => {
  const now = Date.parse('2026-12-04T11:00:00Z');

  it('keeps its own range inside the documented one', () => {
    const { from, to } = writeApiRange(now);
    assert.ok(from >= Date.parse('2016-12-04T11:00:00Z') && to <= Date.parse('2027-12-04T11:00:00Z'), JSON.stringify({ from: new Date(from), to: new Date(to) }));
  });

  it('inserts a backfill\'s rows older than 10 years by DML, and appends the rest to the default stream', async () => {
    const { writeClient, requests } = fakeWriteClient(rangeEnforcingAnswer(now));
    const jobs: { query: string; params: { rows: Record<string, unknown>[] }; types: { rows: [Record<string, unknown>] }; location: string; maximumBytesBilled?: string }[] = [];
    const bigquery = {
      createQueryJob: async (q: (typeof jobs)[number]) => {
        jobs.push(q);
        return [{ getQueryResults: async () => [[]] }];
      },
    } as unknown as BigQuery;
    const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw', dml: { bigquery, location: 'EU' }, nowMs: () => now });
    const w = await stageWrite();
    const ancient = new Date('2012-03-01T12:00:00Z');
    const event = w.accepted[0]!;
    const old = { ...event, event_id: 'ord-2012', event_ts: ancient };
    const oldLines = w.orderLines.filter((l) => l.event_id === event.event_id).map((l) => ({ ...l, event_id: 'ord-2012', event_ts: ancient }));
    assert.ok(oldLines.length > 0);
    await sink.write(only(w, { accepted: [...w.accepted, old], orderLines: [...w.orderLines, ...oldLines], arrivals: w.arrivals }));
    sink.close();

    // The stream took this year's rows only.
    const streamed = requests.filter((r) => /tables\/events\//.test(r.writeStream!)).flatMap((r) => decodeRows(requests[0]!, r).map((x) => x.event_id));
    assert.deepEqual(streamed, w.accepted.map((r) => r.event_id));
    // One INSERT per table, of the schema source's columns, the rows as typed parameters.
    assert.deepEqual(
      jobs.map((j) => [j.query, j.location, j.params.rows.map((r) => [r.event_id, (r.event_ts as Date).toISOString()])]),
      [
        [`insert into \`tillstream-test.raw.events\` (${rawEvents.columns.map((c) => c.name).join(', ')}) select ${rawEvents.columns.map((c) => c.name).join(', ')} from unnest(@rows)`, 'EU', [['ord-2012', ancient.toISOString()]]],
        [`insert into \`tillstream-test.raw.order_lines\` (${rawOrderLines.columns.map((c) => c.name).join(', ')}) select ${rawOrderLines.columns.map((c) => c.name).join(', ')} from unnest(@rows)`, 'EU', oldLines.map(() => ['ord-2012', ancient.toISOString()])],
      ],
    );
    for (const j of jobs) {
      assert.ok(Number(j.maximumBytesBilled) > 0, 'every job carries maximumBytesBilled');
      assert.equal(j.maximumBytesBilled, String(DML_MAX_BYTES_BILLED), 'no workload ceiling: the insert\'s own');
      // The client turns the rows into an ARRAY<STRUCT> parameter of the declared types (REPEATED columns as arrays, NULLs typed).
      const param = (BigQuery as unknown as { valueToQueryParameter_(v: unknown, t: unknown): { parameterType: { arrayType: { structTypes: { name: string; type: { type: string } }[] } } } })
        .valueToQueryParameter_(j.params.rows, j.types.rows);
      const table = j.query.includes('order_lines') ? rawOrderLines : rawEvents;
      assert.deepEqual(
        param.parameterType.arrayType.structTypes.map((f) => [f.name, f.type.type]),
        table.columns.map((c) => [c.name, c.mode === 'REPEATED' ? 'ARRAY' : c.type]),
      );
    }
  });

  it('carries the workload\'s byte ceiling on the DML insert when it is the lower one', async () => {
    const ceilings: (string | undefined)[] = [];
    const bigquery = {
      createQueryJob: async (q: { maximumBytesBilled?: string }) => {
        ceilings.push(q.maximumBytesBilled);
        return [{ getQueryResults: async () => [[]] }];
      },
    } as unknown as BigQuery;
    const w = await stageWrite();
    const old = { ...w.accepted[0]!, event_id: 'ord-2012', event_ts: new Date('2012-03-01T12:00:00Z') };
    for (const maximumBytesBilled of [500_000_000, 10 * DML_MAX_BYTES_BILLED]) {
      const { writeClient } = fakeWriteClient(rangeEnforcingAnswer(now));
      const sink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw', dml: { bigquery, location: 'EU', maximumBytesBilled }, nowMs: () => now });
      await sink.write(only(w, { accepted: [old] }));
      sink.close();
    }
    assert.deepEqual(ceilings, ['500000000', String(DML_MAX_BYTES_BILLED)]);
  });
});

/**
 * BigQuery's query jobs and legacy streaming inserts, with the documented DML rule: a DELETE that
 * would touch rows streamed by tabledata.insertAll in the last 30 minutes fails.
 * https://cloud.google.com/bigquery/docs/data-manipulation-language#limitations
 */
function fakeBigQueryWithStreamingBuffer() {
  /** table → message ids of rows still in the streaming buffer (order lines: through their event's message). */
  const buffered = new Map<string, Set<string>>();
  const eventMessage = new Map<string, string>();
  const statements: string[] = [];
  const bigquery = {
    dataset: () => ({
      table: (id: string) => ({
        insert: async (rows: { json: Record<string, unknown> }[]) => {
          const set = buffered.get(id) ?? new Set<string>();
          for (const { json } of rows) {
            const key = `${String(json.merchant_id)}|${String(json.event_id)}`;
            if (id === 'events') eventMessage.set(key, String(json.message_id));
            set.add(id === 'order_lines' ? (eventMessage.get(key) ?? '?') : String(json.message_id));
          }
          buffered.set(id, set);
          return [{}];
        },
      }),
    }),
    createQueryJob: async (q: { query: string; params?: Record<string, unknown> }) => {
      statements.push(q.query.trim().split('\n')[0]!);
      const table = /^\s*delete from raw\.(\w+)/.exec(q.query)?.[1];
      const ids = [q.params?.message_id, ...((q.params?.ids as string[] | undefined) ?? [])].filter((x) => x !== undefined).map(String);
      if (table && ids.some((m) => buffered.get(table)?.has(m))) {
        throw new Error(`UPDATE or DELETE statement over table raw.${table} would affect rows in the streaming buffer, which is not supported`);
      }
      return [{ getQueryResults: async () => [[]], metadata: {} }];
    },
  } as unknown as BigQuery;
  return { bigquery, statements };
}

describe('re-validation right after ingest on gcp (fake BigQuery with the streaming-buffer DML rule)', () => {
  it('replaces a message\'s rows at once when raw rows went through the Storage Write API', async () => {
    const { bigquery, statements } = fakeBigQueryWithStreamingBuffer();
    const { writeClient, requests } = fakeWriteClient({ current: ok });
    const rawSink = createStorageWriteSink({ writeClient, projectId: 'tillstream-test', rawDataset: 'raw' });
    const warehouse = createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw', rawSink });
    const w = await stageWrite();
    await warehouse.write(w);
    // The re-validation's sink: DML deletes of the message's rows, then the new rows, twice in a row.
    await replacingSink(warehouse, warehouse).write(w);
    await replacingSink(warehouse, warehouse).write(w);
    rawSink.close();
    assert.equal(statements.filter((s) => s.startsWith('delete from raw.')).length, 10);
    assert.equal(requests.length, 15);
  });

  it('fails the same re-validation when raw rows went through legacy streaming inserts (the defect)', async () => {
    const { bigquery } = fakeBigQueryWithStreamingBuffer();
    const warehouse = createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw' });
    const w = await stageWrite();
    await warehouse.write(w);
    await assert.rejects(replacingSink(warehouse, warehouse).write(w), (err: Error) => /streaming buffer/.test(String((err.cause as Error | undefined)?.message)));
  });
});
