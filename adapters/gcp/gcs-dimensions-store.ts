// Dimensions in the gcp runtime: the merged dimensions file is one JSON object in Cloud Storage (the
// source of truth, read by the functions), mirrored into the BigQuery dims.* tables that marts join.
// `load` upserts with the contract's rule (mergeDimensions), guarded by the object's generation, so
// two concurrent loads cannot lose each other's changes. Each dims table is replaced by one load job
// (WRITE_TRUNCATE: atomic per table, no streaming buffer). `get` caches with a bounded refresh interval.
import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import { DimensionsFile, mergeDimensions, resolveDimensions, type Dimensions } from '../../pipeline/contracts/dimensions.js';
import type { Clock, DimensionsStore } from '../../pipeline/ports.js';
import { systemClock } from '../../pipeline/ports.js';
import { dimensionRows } from '../../pipeline/schema/dims.js';
import { serializeRow } from './bigquery-warehouse.js';

const EMPTY: DimensionsFile = { merchants: [], stores: [], fraud_ips: [] };

export interface GcsDimensionsStoreOptions {
  storage: Storage;
  bigquery: BigQuery;
  bucket: string;
  /** The dimensions JSON object; the table mirrors are written beside it, under `<object>.tables/`. */
  object: string;
  dimsDataset: string;
  location: string;
  refreshMs: number;
  clock?: Clock;
}

export function createGcsDimensionsStore(opts: GcsDimensionsStoreOptions): DimensionsStore & { read(): Promise<{ file: DimensionsFile; generation: number }> } {
  const clock = opts.clock ?? systemClock;
  const bucket = opts.storage.bucket(opts.bucket);
  let cached: { at: number; value: Dimensions } | undefined;
  let inflight: Promise<Dimensions> | undefined;

  async function read(): Promise<{ file: DimensionsFile; generation: number }> {
    const file = bucket.file(opts.object);
    try {
      const [[bytes], [metadata]] = await Promise.all([file.download(), file.getMetadata()]);
      return { file: DimensionsFile.parse(JSON.parse(bytes.toString('utf8'))), generation: Number(metadata.generation) };
    } catch (err) {
      // 404: nothing loaded yet. Generation 0 as a precondition means "must not exist".
      if ((err as { code?: number }).code === 404) return { file: EMPTY, generation: 0 };
      throw new Error(`reading the dimensions gs://${opts.bucket}/${opts.object} failed`, { cause: err });
    }
  }

  async function mirror(merged: DimensionsFile): Promise<void> {
    const dataset = opts.bigquery.dataset(opts.dimsDataset);
    for (const { table, rows } of dimensionRows(merged)) {
      const tableId = table.id.split('.')[1]!;
      const staged = bucket.file(`${opts.object}.tables/${tableId}.ndjson`);
      await staged.save(rows.map((r) => JSON.stringify(serializeRow(table, r))).join('\n') + '\n', { contentType: 'application/x-ndjson', resumable: false });
      await dataset.table(tableId).load(staged, { sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_TRUNCATE', location: opts.location });
    }
  }

  return {
    read,

    async load(next: DimensionsFile): Promise<void> {
      const { file: current, generation } = await read();
      const merged = mergeDimensions(current, DimensionsFile.parse(next));
      const resolved = resolveDimensions(merged); // a store of an unknown merchant fails before anything is written
      try {
        await bucket.file(opts.object).save(JSON.stringify(merged, null, 2) + '\n', {
          contentType: 'application/json',
          resumable: false,
          preconditionOpts: { ifGenerationMatch: generation },
        });
      } catch (err) {
        if ((err as { code?: number }).code === 412) throw new Error('the dimensions changed while loading; load the file again', { cause: err });
        throw new Error(`writing the dimensions gs://${opts.bucket}/${opts.object} failed`, { cause: err });
      }
      await mirror(merged);
      cached = { at: clock.now().getTime(), value: resolved };
    },

    async get(): Promise<Dimensions> {
      const now = clock.now().getTime();
      if (cached && now - cached.at < opts.refreshMs) return cached.value;
      inflight ??= read()
        .then(({ file }) => {
          cached = { at: clock.now().getTime(), value: resolveDimensions(file) };
          return cached.value;
        })
        // A failed refresh keeps serving what was read before (and tries again next call).
        .catch((err: unknown) => {
          if (cached) return cached.value;
          throw err;
        })
        .finally(() => (inflight = undefined));
      return inflight;
    },
  };
}
