// BigQuery in the gcp runtime: the RawSink (the Storage Write API sink when given, else legacy
// streaming inserts) and the Warehouse port (parameterized query jobs), plus a dry run that reports the bytes a statement would scan before a reprocess.
// Rows are serialized from the one schema source (pipeline/schema/raw.ts), column by column.
// insertId makes streaming inserts best-effort idempotent: merchant_id:event_id for accepted events
// (table-wide, as DESIGN.md fixes), message_id:entry_index for rejected and duplicate entries; the
// staging view that keeps the earliest received_at per (merchant_id, event_id) is the safety net.
import { BigQuery, BigQueryDate, BigQueryInt, BigQueryTimestamp, type Query, type QueryRowsResponse } from '@google-cloud/bigquery';
import { RowsRefusedError, type IngestWrite, type RawSink, type SqlParams, type Warehouse } from '../../pipeline/ports.js';
import { rawArrivals, rawDuplicates, rawEvents, rawOrderLines, rawRejectedEvents } from '../../pipeline/schema/raw.js';
import type { TableDef } from '../../pipeline/schema/types.js';

export interface BigQueryWarehouseOptions {
  bigquery: BigQuery;
  location: string;
  /** Dataset that holds the raw tables (the schema source calls it `raw`). */
  rawDataset: string;
  /**
   * Ceiling of bytes billed for every query job (maximumBytesBilled): a job that would bill more fails
   * without being charged. https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfigurationQuery
   */
  maximumBytesBilled?: number;
  /** Rows per insertAll request; BigQuery recommends at most 500. */
  insertBatchSize?: number;
  /**
   * Where raw rows go instead of streaming inserts: the Storage Write API sink
   * (bigquery-storage-sink.ts), so that DML can reach them at once.
   */
  rawSink?: RawSink;
}

export interface BigQueryWarehouse extends Warehouse, RawSink {
  /** Bytes the statement would scan, without running it. */
  dryRun(sql: string, params?: SqlParams): Promise<number>;
}

type JsonRow = Record<string, unknown>;

/** One row → the JSON BigQuery's insertAll takes: timestamps as ISO strings, every column present. */
export function serializeRow(table: TableDef, row: Record<string, unknown>): JsonRow {
  const out: JsonRow = {};
  for (const c of table.columns) {
    const v = row[c.name];
    if (v === undefined || v === null) {
      if (c.mode === 'REQUIRED') throw new Error(`${table.id}.${c.name} is required but missing`);
      out[c.name] = c.mode === 'REPEATED' ? [] : null;
      continue;
    }
    out[c.name] = c.mode === 'REPEATED' ? (v as unknown[]).map((x) => scalar(c.type, x)) : scalar(c.type, v);
  }
  return out;
}

function scalar(type: string, v: unknown): unknown {
  if (type === 'TIMESTAMP') return (v instanceof Date ? v : new Date(v as string)).toISOString();
  if (type === 'DATE') return v instanceof Date ? v.toISOString().slice(0, 10) : v;
  // NUMERIC travels as decimal text so no binary float ever touches money.
  if (type === 'NUMERIC') return String(v);
  return v;
}

// Rows written again from the ingest journal carry their timestamps as ISO text.
const iso = (d: Date | string) => new Date(d).toISOString();

/** The (table, insertId, row) triples one ingest write produces. */
export function insertRows(batch: IngestWrite): { table: TableDef; rows: { insertId: string; json: JsonRow }[] }[] {
  return [
    { table: rawEvents, rows: batch.accepted.map((r) => ({ insertId: `${r.merchant_id}:${r.event_id}`, json: serializeRow(rawEvents, r) })) },
    {
      table: rawOrderLines,
      rows: batch.orderLines.map((r) => ({ insertId: `${r.merchant_id}:${r.event_id}:${r.line_index}`, json: serializeRow(rawOrderLines, r) })),
    },
    {
      table: rawRejectedEvents,
      rows: batch.rejected.map((r) => ({ insertId: `${r.message_id}:${r.entry_index}`, json: serializeRow(rawRejectedEvents, r as unknown as Record<string, unknown>) })),
    },
    {
      table: rawDuplicates,
      rows: batch.duplicates.map((r) => ({ insertId: `${r.message_id}:${r.entry_index}`, json: serializeRow(rawDuplicates, r as unknown as Record<string, unknown>) })),
    },
    {
      table: rawArrivals,
      rows: batch.arrivals.map((r) => ({
        insertId: `${r.message_id}:${r.merchant_id}:${iso(r.event_hour)}`,
        json: serializeRow(rawArrivals, r as unknown as Record<string, unknown>),
      })),
    },
  ].filter((t) => t.rows.length > 0);
}

/** Query parameters; nulls and empty arrays carry no type of their own, so they are declared STRING. */
export function queryParams(params: SqlParams = {}): Pick<Query, 'params' | 'types'> {
  const types: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === null) types[k] = 'STRING';
    else if (Array.isArray(v) && v.length === 0) types[k] = ['STRING'];
  }
  return Object.keys(types).length > 0 ? { params, types } : { params };
}

/** BigQuery's typed values → plain JS, as the local warehouse returns them. */
export function plainValue(v: unknown): unknown {
  if (v instanceof BigQueryInt) {
    const n = BigInt(v.value);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
  }
  if (v instanceof BigQueryTimestamp) return new Date(v.value);
  if (v instanceof BigQueryDate) return v.value;
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === 'object' && v.constructor?.name === 'Big') return Number(String(v));
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  }
  return v;
}

/** Rows per page of a paged result (a page of mart rows is a few MB). */
export const RESULT_PAGE_ROWS = 10_000;

export function createBigQueryWarehouse(opts: BigQueryWarehouseOptions): BigQueryWarehouse {
  const { bigquery, location } = opts;
  const batchSize = opts.insertBatchSize ?? 500;
  const dataset = bigquery.dataset(opts.rawDataset);

  // A dry run bills nothing, so it carries no ceiling: it is how a caller learns what a run would need.
  const ceiling = (extra: Partial<Query>): Partial<Query> =>
    opts.maximumBytesBilled === undefined || extra.dryRun ? {} : { maximumBytesBilled: String(opts.maximumBytesBilled) };

  async function job(sql: string, params: SqlParams | undefined, extra: Partial<Query> = {}) {
    try {
      const [job] = await bigquery.createQueryJob({ query: sql, location, useLegacySql: false, ...queryParams(params), ...ceiling(extra), ...extra });
      return job;
    } catch (err) {
      throw overLimit(err, sql, opts.maximumBytesBilled) ?? new Error(`BigQuery query job failed: ${firstLine(sql)}`, { cause: err });
    }
  }

  return {
    async write(batch: IngestWrite): Promise<void> {
      if (opts.rawSink) return opts.rawSink.write(batch);
      let first = true;
      for (const { table, rows } of insertRows(batch)) {
        const target = dataset.table(table.id.split('.')[1]!);
        for (let i = 0; i < rows.length; i += batchSize) {
          try {
            await target.insert(rows.slice(i, i + batchSize), { raw: true, skipInvalidRows: false, ignoreUnknownValues: false });
          } catch (err) {
            const what = `streaming insert of ${rows.length} rows into ${table.id} failed`;
            // With skipInvalidRows false an invalid row fails the whole request, and the answer lists
            // the row errors (a PartialFailureError): then nothing of the request was stored, and if
            // it was the write's first request, nothing of the write.
            // https://cloud.google.com/bigquery/docs/reference/rest/v2/tabledata/insertAll
            if (first && (err as Error | undefined)?.name === 'PartialFailureError') throw new RowsRefusedError(what, { cause: err });
            // Anything else (a timeout, a 5xx) may have stored the rows; keep the cause for the logs.
            throw new Error(what, { cause: err });
          }
          first = false;
        }
      }
    },

    async run(sql, params) {
      const j = await job(sql, params);
      try {
        await j.getQueryResults({ maxResults: 0 });
      } catch (err) {
        throw overLimit(err, sql, opts.maximumBytesBilled) ?? new Error(`BigQuery statement failed: ${firstLine(sql)}`, { cause: err });
      }
    },

    async query<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
      const j = await job(sql, params);
      try {
        const [rows] = await j.getQueryResults({ wrapIntegers: true });
        return rows.map((r) => plainValue(r) as T);
      } catch (err) {
        throw overLimit(err, sql, opts.maximumBytesBilled) ?? new Error(`BigQuery query failed: ${firstLine(sql)}`, { cause: err });
      }
    },

    // Paged results: one page of at most RESULT_PAGE_ROWS rows in memory at a time, the next asked for
    // with the page token the previous answer carries.
    // https://cloud.google.com/bigquery/docs/paging-results
    async queryPages<T = Record<string, unknown>>(sql: string, params: SqlParams | undefined, onPage: (rows: T[]) => Promise<void>): Promise<void> {
      const j = await job(sql, params);
      let pageToken: string | undefined;
      do {
        let page: QueryRowsResponse;
        try {
          page = await j.getQueryResults({ wrapIntegers: true, autoPaginate: false, maxResults: RESULT_PAGE_ROWS, ...(pageToken ? { pageToken } : {}) });
        } catch (err) {
          throw overLimit(err, sql, opts.maximumBytesBilled) ?? new Error(`BigQuery query failed: ${firstLine(sql)}`, { cause: err });
        }
        const [rows, next] = page;
        await onPage(rows.map((r) => plainValue(r) as T));
        pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken ?? undefined;
      } while (pageToken);
    },

    async dryRun(sql, params) {
      const j = await job(sql, params, { dryRun: true });
      return Number(j.metadata?.statistics?.totalBytesProcessed ?? 0);
    },
  };
}

/**
 * A job refused for its bytes ceiling: BigQuery answers reason `bytesBilledLimitExceeded` ("Query
 * exceeded limit for bytes billed: N. M or higher required.").
 * https://cloud.google.com/bigquery/docs/error-messages
 */
export class BytesBilledLimitError extends Error {
  constructor(sql: string, readonly limit: number | undefined, options: { cause: unknown }) {
    super(
      `BigQuery refused ${firstLine(sql)}: it would bill more than maximumBytesBilled (${limit ?? 'the project default'} bytes; TILLSTREAM_MAX_BYTES_BILLED). Narrow the run, or raise the ceiling after a dry run.`,
      options,
    );
    this.name = 'BytesBilledLimitError';
  }
}

function overLimit(err: unknown, sql: string, limit: number | undefined): BytesBilledLimitError | undefined {
  const e = err as { errors?: { reason?: string }[]; message?: string } | undefined;
  const hit = e?.errors?.some((x) => x.reason === 'bytesBilledLimitExceeded') || /exceeded limit for bytes billed/i.test(e?.message ?? '');
  return hit ? new BytesBilledLimitError(sql, limit, { cause: err }) : undefined;
}

const firstLine = (sql: string) => sql.trim().split('\n')[0]!.slice(0, 120);

let client: BigQuery | undefined;
export function bigqueryClient(projectId: string, location: string): BigQuery {
  return (client ??= new BigQuery({ projectId, location }));
}
