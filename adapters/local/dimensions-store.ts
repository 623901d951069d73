// Local dimensions: the merged dimensions file is kept as JSON (<dataDir>/dimensions.json, the
// source of truth, written atomically) and projected into the warehouse's dims.* tables that marts
// join. `load` upserts with the contract's rule (mergeDimensions). Stages read `get()`, which is
// cached in memory.
import { readFile } from 'node:fs/promises';
import { DimensionsFile, mergeDimensions, resolveDimensions, type Dimensions } from '../../pipeline/contracts/dimensions.js';
import type { DimensionsStore } from '../../pipeline/ports.js';
import { dimensionRows } from '../../pipeline/schema/dims.js';
import { duckdbTableName } from '../../pipeline/schema/ddl-duckdb.js';
import { writeAtomic } from './data-dir.js';
import { appendRows } from './duckdb-values.js';
import type { LocalWarehouse } from './warehouse.js';

const EMPTY: DimensionsFile = { merchants: [], stores: [], fraud_ips: [] };

export class LocalDimensionsStore implements DimensionsStore {
  private cached: Dimensions;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly warehouse: LocalWarehouse,
    private current: DimensionsFile,
  ) {
    this.cached = resolveDimensions(current);
  }

  /** Reads the JSON file (if any) and brings the dims tables in line with it. */
  static async open(opts: { file: string; warehouse: LocalWarehouse }): Promise<LocalDimensionsStore> {
    let current = EMPTY;
    try {
      current = DimensionsFile.parse(JSON.parse(await readFile(opts.file, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`reading the dimensions ${opts.file}`, { cause: err });
    }
    const store = new LocalDimensionsStore(opts.file, opts.warehouse, current);
    // The JSON is written first; a crash before the tables were rewritten is repaired here.
    await store.writeTables(current);
    return store;
  }

  load(file: DimensionsFile): Promise<void> {
    const run = async () => {
      const merged = mergeDimensions(this.current, DimensionsFile.parse(file));
      const resolved = resolveDimensions(merged); // throws on a store of an unknown merchant, before anything is written
      await writeAtomic(this.file, JSON.stringify(merged, null, 2) + '\n');
      await this.writeTables(merged);
      this.current = merged;
      this.cached = resolved;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  async get(): Promise<Dimensions> {
    return this.cached;
  }

  /** The merged dimensions file as stored. */
  snapshot(): DimensionsFile {
    return this.current;
  }

  private async writeTables(d: DimensionsFile): Promise<void> {
    const tables = dimensionRows(d);
    await this.warehouse.transaction(async (conn) => {
      for (const { table } of tables) await conn.run(`DELETE FROM ${duckdbTableName(table)}`);
      for (const { table, rows } of tables) await appendRows(conn, table, rows);
    });
  }
}
