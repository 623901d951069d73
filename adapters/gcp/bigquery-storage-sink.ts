// The RawSink on the BigQuery Storage Write API (gRPC), default stream: the raw tables' rows as
// protobuf messages whose descriptor comes from the one schema source (pipeline/schema/raw.ts),
// appended through the client's JSONWriter, one long-lived connection per table and process.
//
// Why not legacy streaming inserts (tabledata.insertAll):
// - DML: rows recently written by insertAll cannot be changed by UPDATE, DELETE or MERGE (about 30
//   minutes; up to 90 for copies), so a re-validation right after ingest, whose replacing sink
//   deletes a message's rows, fails. Rows written through the Storage Write API (gRPC) can be.
//   https://cloud.google.com/bigquery/docs/data-manipulation-language#limitations
//   https://cloud.google.com/bigquery/docs/data-manipulation-language#use_dml_with_recently_streamed_data
// - Price: the Storage Write API costs half of insertAll per GB ingested ($0.025/GB against $0.01 per
//   200 MB), with a monthly free tier. https://cloud.google.com/bigquery/pricing#data_ingestion_pricing
// - Limits: the default stream is the one recommended for streaming: no per-stream creation quota,
//   shared by any number of writers; throughput and concurrent-connection quotas are per project and
//   region, and one AppendRows request carries at most 10 MB.
//   https://cloud.google.com/bigquery/docs/write-api-best-practices
//   https://cloud.google.com/bigquery/quotas#write-api-limits
//
// The default stream is at-least-once and has no insertId: a retried append may store a row twice.
// Exactness does not rest on the sink: the Bigtable dedupe index decides each event's end state
// before anything is written, the stage's journal keeps a message's parts from being written with
// two end states, and the read side keeps one row per key (staging.stg_events keeps the earliest
// received_at per (merchant_id, event_id); rejected and duplicate rows are one per (message_id,
// entry_index)).
import { adapt, managedwriter } from '@google-cloud/bigquery-storage';
import { RowsRefusedError, type IngestWrite, type RawSink } from '../../pipeline/ports.js';
import { rawArrivals, rawDuplicates, rawEvents, rawOrderLines, rawRejectedEvents } from '../../pipeline/schema/raw.js';
import type { TableDef } from '../../pipeline/schema/types.js';

type WriterClient = InstanceType<typeof managedwriter.WriterClient>;
type JSONWriter = InstanceType<typeof managedwriter.JSONWriter>;
type JSONObject = Parameters<JSONWriter['appendRows']>[0][number];

export interface StorageWriteSinkOptions {
  writeClient: WriterClient;
  projectId: string;
  /** Dataset that holds the raw tables (the schema source calls it `raw`). */
  rawDataset: string;
  /** Rows per AppendRows request; a message (at most 1 MB of entries) stays well below the 10 MB request limit. */
  rowsPerAppend?: number;
}

/** The protobuf descriptor of a table's rows, from the schema source. */
export function protoDescriptorOf(table: TableDef) {
  const storageSchema = adapt.convertBigQuerySchemaToStorageTableSchema({
    fields: table.columns.map((c) => ({ name: c.name, type: c.type, mode: c.mode })),
  });
  return adapt.convertStorageSchemaToProto2Descriptor(storageSchema, 'root');
}

/**
 * One row as the JSONWriter encodes it: TIMESTAMP as a Date (the writer sends microseconds since
 * the epoch), NUMERIC as decimal text (no binary float ever touches money), every column present.
 * Accepts timestamps as Date or ISO text (rows read back from the ingest journal).
 */
export function storageRow(table: TableDef, row: Record<string, unknown>): JSONObject {
  const out: JSONObject = {};
  for (const c of table.columns) {
    const v = row[c.name];
    if (v === undefined || v === null) {
      if (c.mode === 'REQUIRED') throw new Error(`${table.id}.${c.name} is required but missing`);
      if (c.mode === 'REPEATED') out[c.name] = [];
      continue;
    }
    const one = (x: unknown) => {
      if (c.type === 'TIMESTAMP') return x instanceof Date ? x : new Date(x as string);
      if (c.type === 'NUMERIC') return String(x);
      return x as string | number | boolean;
    };
    out[c.name] = c.mode === 'REPEATED' ? (v as unknown[]).map(one) : one(v);
  }
  return out;
}

/** The tables one ingest write appends to, in the order the stage relies on (raw.events before the rest of its part). */
function tablesOf(batch: IngestWrite): { table: TableDef; rows: Record<string, unknown>[] }[] {
  return [
    { table: rawEvents, rows: batch.accepted },
    { table: rawOrderLines, rows: batch.orderLines },
    { table: rawRejectedEvents, rows: batch.rejected as unknown as Record<string, unknown>[] },
    { table: rawDuplicates, rows: batch.duplicates as unknown as Record<string, unknown>[] },
    { table: rawArrivals, rows: batch.arrivals as unknown as Record<string, unknown>[] },
  ].filter((t) => t.rows.length > 0);
}

export function createStorageWriteSink(opts: StorageWriteSinkOptions): RawSink & { close(): void } {
  const rowsPerAppend = opts.rowsPerAppend ?? 500;
  const writers = new Map<string, Promise<JSONWriter>>();

  function writerFor(table: TableDef): Promise<JSONWriter> {
    let w = writers.get(table.id);
    if (!w) {
      const destinationTable = `projects/${opts.projectId}/datasets/${opts.rawDataset}/tables/${table.id.split('.')[1]!}`;
      w = opts.writeClient
        .createStreamConnection({ streamId: managedwriter.DefaultStream, destinationTable })
        .then((connection) => new managedwriter.JSONWriter({ connection, protoDescriptor: protoDescriptorOf(table) }));
      // A connection that failed to open is not kept: the next write opens a new one.
      w.catch(() => writers.delete(table.id));
      writers.set(table.id, w);
    }
    return w;
  }

  /** After a failed append the connection's state is unknown: close it, the next write reconnects. */
  async function drop(table: TableDef) {
    const w = writers.get(table.id);
    writers.delete(table.id);
    try {
      (await w)?.close();
    } catch {
      // already broken
    }
  }

  return {
    async write(batch: IngestWrite): Promise<void> {
      let first = true;
      for (const { table, rows } of tablesOf(batch)) {
        const encoded = rows.map((r) => storageRow(table, r));
        for (let i = 0; i < encoded.length; i += rowsPerAppend) {
          const what = `appending ${encoded.length} rows to ${table.id} (Storage Write API, default stream) failed`;
          let result;
          try {
            result = await (await writerFor(table)).appendRows(encoded.slice(i, i + rowsPerAppend)).getResult();
          } catch (err) {
            await drop(table);
            throw new Error(what, { cause: err });
          }
          // Row errors: the service refused the whole request (nothing of it was appended).
          // https://cloud.google.com/bigquery/docs/reference/storage/rpc/google.cloud.bigquery.storage.v1#appendrowsresponse
          if (result.rowErrors && result.rowErrors.length > 0) {
            const detail = result.rowErrors.map((e) => `row ${String(e.index)}: ${String(e.message)}`).join('; ');
            const err = new Error(`${what}: ${detail}`);
            throw first ? new RowsRefusedError(what, { cause: err }) : err;
          }
          if (result.error) {
            await drop(table);
            throw new Error(`${what}: ${String(result.error.message)} (code ${String(result.error.code)})`);
          }
          first = false;
        }
      }
    },
    close() {
      for (const table of [...writers.keys()]) void writers.get(table)?.then((w) => w.close(), () => undefined);
      writers.clear();
    },
  };
}
