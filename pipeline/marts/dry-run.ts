// The dry run before a mart build or a reprocess on BigQuery: how many bytes the run would scan, and
// what that costs on demand, before any statement runs. Rather than a second list of the statements a
// run issues (which would drift from the runner), the run itself is replayed against a warehouse that
// dry-runs every statement it is given and answers every query with no rows, and a series store that
// keeps nothing. With no rows, the replay issues each statement the real run issues for its windows
// (rebuild, assertions, row counts, mart reads, run records, the documents export) and no other.
// Statements whose SQL and parameters repeat are dry-run once and counted at every run.
import type { SeriesMutation, SeriesRow, SeriesStore, SqlParams, Warehouse } from '../ports.js';

/** Bytes a statement would process (BigQuery dry run: totalBytesProcessed), without running it. */
export type DryRunFn = (sql: string, params?: SqlParams) => Promise<number>;

/**
 * BigQuery on-demand price in US dollars per TiB scanned (multi-region US and EU). The estimate is
 * what the bytes would cost at this price; a project on capacity (slot) pricing pays for slots instead.
 */
export const ON_DEMAND_USD_PER_TIB = 6.25;
/** On demand, every query that scans a table is billed at least 10 MB for it. */
export const MIN_BILLED_BYTES = 10 * 1024 * 1024;
const TIB = 1024 ** 4;

export interface PlannedStatement {
  /** First line of the statement, for the printout. */
  label: string;
  /** Bytes one run processes, per the dry run. */
  bytes: number;
  /** How many times the run issues it. */
  runs: number;
}

export interface DryRunEstimate {
  statements: PlannedStatement[];
  /** Sum over statements of bytes × runs. */
  bytesProcessed: number;
  /** Bytes billed on demand: each run's bytes, at least MIN_BILLED_BYTES when it scans anything. */
  bytesBilled: number;
  /** bytesBilled at the on-demand price. */
  estimatedCostUsd: number;
}

export interface DryRunWarehouse extends Warehouse {
  /** What the statements issued so far would scan and cost. */
  estimate(): DryRunEstimate;
}

export interface DryRunWarehouseOptions {
  usdPerTib?: number;
  /**
   * Distinct parameter sets of one SQL text dry-run before its largest answer stands in for the rest.
   * A statement issued once per chunk of archived messages (the re-validation look-ups and deletes)
   * scans about the same partitions for every chunk, so a few dry runs bound it without one request
   * per chunk.
   */
  maxDryRunsPerStatement?: number;
}

const firstLine = (sql: string): string => sql.trim().split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 100);

const paramsKey = (params: SqlParams | undefined): string =>
  JSON.stringify(params ?? {}, (_, v: unknown) => (v instanceof Date ? v.toISOString() : v));

/** Bytes billed on demand for one run of a statement. */
const billed = (bytes: number): number => (bytes > 0 ? Math.max(bytes, MIN_BILLED_BYTES) : 0);

/** A warehouse that dry-runs each statement instead of running it and answers every query with no rows. */
export function createDryRunWarehouse(dryRun: DryRunFn, opts: DryRunWarehouseOptions = {}): DryRunWarehouse {
  const maxPerText = opts.maxDryRunsPerStatement ?? 3;
  const usdPerTib = opts.usdPerTib ?? ON_DEMAND_USD_PER_TIB;
  // One entry per distinct SQL text, in first-issued order: the printout follows the run.
  const texts = new Map<string, { label: string; byParams: Map<string, number>; maxBytes: number; runs: number; bytes: number; billed: number }>();

  async function issue(sql: string, params?: SqlParams): Promise<void> {
    let t = texts.get(sql);
    if (!t) {
      t = { label: firstLine(sql), byParams: new Map(), maxBytes: 0, runs: 0, bytes: 0, billed: 0 };
      texts.set(sql, t);
    }
    const key = paramsKey(params);
    let bytes = t.byParams.get(key);
    if (bytes === undefined) {
      if (t.byParams.size < maxPerText) {
        try {
          bytes = await dryRun(sql, params);
        } catch (err) {
          throw new Error(`dry run of "${t.label}" failed`, { cause: err });
        }
        t.byParams.set(key, bytes);
        t.maxBytes = Math.max(t.maxBytes, bytes);
      } else {
        bytes = t.maxBytes;
      }
    }
    t.runs++;
    t.bytes += bytes;
    t.billed += billed(bytes);
  }

  return {
    async run(sql, params) {
      await issue(sql, params);
    },
    async query<T>(sql: string, params?: SqlParams): Promise<T[]> {
      await issue(sql, params);
      return [];
    },
    estimate() {
      // One line per SQL text; its runs may differ in bytes (other windows), so bytes is their mean.
      const statements = [...texts.values()].map((t) => ({ label: t.label, bytes: t.runs ? Math.round(t.bytes / t.runs) : 0, runs: t.runs }));
      let bytesProcessed = 0;
      let bytesBilled = 0;
      for (const t of texts.values()) {
        bytesProcessed += t.bytes;
        bytesBilled += t.billed;
      }
      return { statements, bytesProcessed, bytesBilled, estimatedCostUsd: (bytesBilled / TIB) * usdPerTib };
    },
  };
}

/** A series store that keeps nothing: the replay's exports go nowhere. */
export const discardingSeriesStore: SeriesStore = {
  async mutate(_mutations: SeriesMutation[]) {},
  async readRange(): Promise<SeriesRow[]> {
    return [];
  },
  async readRangeWithDocuments() {
    return { rows: [], documents: new Map() };
  },
  async checkAndMutate(entries: { key: string }[]) {
    return entries.map(() => false);
  },
  async getDocument<T>(): Promise<T | undefined> {
    return undefined;
  },
  async putDocument(_key: string, _value: unknown) {},
};

/** Bytes in binary units for people: `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
