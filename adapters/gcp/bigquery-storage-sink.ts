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
// The Storage Write API writes a table partitioned on a time-unit column only in partitions from 10
// years in the past to 1 year in the future of the day it writes, and refuses a row outside them
// (https://cloud.google.com/bigquery/docs/write-api#time-unit_column_partitioning). raw.events and
// raw.order_lines are partitioned on event_ts, and a backfill accepts events of any age (DESIGN.md,
// "Clock"): such rows go in by a DML INSERT of the same rows as query parameters, which has no such
// range (https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#insert_statement),
// instead of failing their whole message on every delivery attempt until it is processing_failed.
//
// The default stream is at-least-once and has no insertId: a retried append may store a row twice.
// Exactness does not rest on the sink: the Bigtable dedupe index decides each event's end state
// before anything is written, the stage's journal keeps a message's parts from being written with
// two end states, and the read side keeps one row per key (staging.stg_events keeps the earliest
// received_at per (merchant_id, event_id); rejected and duplicate rows are one per (message_id,
// entry_index)).
import type { BigQuery } from '@google-cloud/bigquery';
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
  /** Rows per AppendRows request, at most; requests are also cut by size (APPEND_BYTES). */
  rowsPerAppend?: number;
  /**
   * Where rows outside the Storage Write API's partition range go in by DML; without it they are refused.
   * maximumBytesBilled: the workload's ceiling (TILLSTREAM_MAX_BYTES_BILLED); the insert carries the
   * lower of it and DML_MAX_BYTES_BILLED.
   */
  dml?: { bigquery: BigQuery; location: string; maximumBytesBilled?: number };
  /** Wall clock in ms (tests): the partition range is counted from the day of the write. */
  nowMs?: () => number;
}

/** The partitions the Storage Write API writes, in years from the day of the write (see the header). */
export const WRITE_API_PARTITION_YEARS = { past: 10, future: 1 } as const;
/** Rows this close to either end go by DML too: the service's own day may differ from ours. */
const RANGE_MARGIN_MS = 7 * 86_400_000;

/** The partition times (ms, inclusive) the Storage Write API writes on the day of `nowMs`, less the margin. */
export function writeApiRange(nowMs: number): { from: number; to: number } {
  const years = (n: number) => {
    const d = new Date(nowMs);
    d.setUTCFullYear(d.getUTCFullYear() + n);
    return d.getTime();
  };
  return { from: years(-WRITE_API_PARTITION_YEARS.past) + RANGE_MARGIN_MS, to: years(WRITE_API_PARTITION_YEARS.future) - RANGE_MARGIN_MS };
}

/**
 * An AppendRows request carries at most 10 MB (https://cloud.google.com/bigquery/quotas#write-api-limits),
 * and a message may hold up to TILLSTREAM_BATCH_MAX_BYTES (9 MB) of entries, whose rows are larger
 * still: requests are cut at this many bytes by estimate (each value's UTF-8 bytes, a few per field),
 * half the limit, so the writer schema and protobuf framing always fit.
 */
export const APPEND_BYTES = 5_000_000;

/** A row's size as protobuf by estimate: its values' bytes and a few bytes of tag and length per field. */
function estimatedBytes(row: Record<string, unknown>): number {
  let n = 0;
  for (const v of Object.values(row)) {
    if (Array.isArray(v)) for (const x of v) n += 4 + (typeof x === 'string' ? Buffer.byteLength(x) : 10);
    else n += 4 + (typeof v === 'string' ? Buffer.byteLength(v) : 10);
  }
  return n;
}

/** An INSERT of a DML statement reads no table: a ceiling far above it, as every job carries one. */
export const DML_MAX_BYTES_BILLED = 1 << 30;

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

  const nowMs = opts.nowMs ?? Date.now;

  /** The rows in requests of at most rowsPerAppend rows and APPEND_BYTES by estimate (a larger row goes alone). */
  function appendChunks(rows: JSONObject[]): JSONObject[][] {
    const chunks: JSONObject[][] = [];
    let current: JSONObject[] = [];
    let bytes = 0;
    for (const row of rows) {
      const size = estimatedBytes(row);
      if (current.length > 0 && (current.length >= rowsPerAppend || bytes + size > APPEND_BYTES)) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(row);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  /** The rows the default stream takes, and those outside its partition range. */
  function splitByRange(table: TableDef, rows: Record<string, unknown>[]): { rows: Record<string, unknown>[]; outside: Record<string, unknown>[] } {
    const column = table.partition?.column;
    if (!column) return { rows, outside: [] };
    const { from, to } = writeApiRange(nowMs());
    const outsideRange = (r: Record<string, unknown>) => {
      const v = r[column];
      const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
      return ms < from || ms > to;
    };
    if (!rows.some(outsideRange)) return { rows, outside: [] };
    return { rows: rows.filter((r) => !outsideRange(r)), outside: rows.filter(outsideRange) };
  }

  /** One INSERT … SELECT FROM UNNEST(@rows) of the rows, typed by the schema source; waits for it to commit. */
  async function insertByDml(table: TableDef, rows: Record<string, unknown>[], first: boolean): Promise<void> {
    const what = `inserting ${rows.length} rows into ${table.id} by DML (partitions outside the Storage Write API's range) failed`;
    if (!opts.dml) throw new (first ? RowsRefusedError : Error)(`${what}: no BigQuery client to run it`);
    const columns = table.columns.map((c) => c.name).join(', ');
    const target = `\`${opts.projectId}.${opts.rawDataset}.${table.id.split('.')[1]!}\``;
    const types = Object.fromEntries(table.columns.map((c) => [c.name, c.mode === 'REPEATED' ? [c.type] : c.type]));
    // The same values the stream would carry (and the same refusal of a missing required column), absent ones as NULL.
    const params = rows.map((r) => {
      const row = storageRow(table, r);
      return Object.fromEntries(table.columns.map((c) => [c.name, row[c.name] ?? null]));
    });
    try {
      const [job] = await opts.dml.bigquery.createQueryJob({
        query: `insert into ${target} (${columns}) select ${columns} from unnest(@rows)`,
        params: { rows: params },
        types: { rows: [types] },
        location: opts.dml.location,
        useLegacySql: false,
        maximumBytesBilled: String(Math.min(opts.dml.maximumBytesBilled ?? DML_MAX_BYTES_BILLED, DML_MAX_BYTES_BILLED)),
      });
      await job.getQueryResults();
    } catch (err) {
      throw new Error(what, { cause: err });
    }
  }

  return {
    async write(batch: IngestWrite): Promise<void> {
      let first = true;
      for (const { table, rows: all } of tablesOf(batch)) {
        const { rows, outside } = splitByRange(table, all);
        if (outside.length > 0) {
          await insertByDml(table, outside, first);
          first = false;
        }
        const encoded = rows.map((r) => storageRow(table, r));
        for (const chunk of appendChunks(encoded)) {
          const what = `appending ${encoded.length} rows to ${table.id} (Storage Write API, default stream) failed`;
          let result;
          try {
            result = await (await writerFor(table)).appendRows(chunk).getResult();
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
