// Load figure: the stage's writes through the RawSink of the local warehouse (one transaction per
// message, concurrent writes group-committed as the runner issues them) into a fresh DuckDB file,
// against a bare DuckDB appender of the same accepted rows and order lines into another fresh file.
// Rows counted: accepted events (order lines, rejections, duplicates and arrivals ride along).
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendRows } from '../adapters/local/duckdb-values.js';
import { LocalWarehouse } from '../adapters/local/warehouse.js';
import type { IngestWrite } from '../pipeline/ports.js';
import { duckdbDdl } from '../pipeline/schema/ddl-duckdb.js';
import { rawEvents, rawOrderLines } from '../pipeline/schema/raw.js';
import { median } from './result.js';

/** Messages the runner leases per receive and writes concurrently (pipeline/runner/consume.ts). */
const RUNNER_BATCH = 32;
const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function measureLoad(writes: IngestWrite[], dir: string, log: (s: string) => void): Promise<{ rows: number; rows_per_s: number; baseline_appender_rows_per_s: number }> {
  const rows = writes.reduce((n, w) => n + w.accepted.length, 0);
  const accepted = writes.flatMap((w) => w.accepted);
  const lines = writes.flatMap((w) => w.orderLines);
  const sinkRates: number[] = [];
  const bareRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    {
      const inst = await DuckDBInstance.create(join(dir, `bare-${round}.duckdb`));
      const conn = await inst.connect();
      await conn.run("SET TimeZone = 'UTC'");
      await conn.run(duckdbDdl(rawEvents));
      await conn.run(duckdbDdl(rawOrderLines));
      const t0 = performance.now();
      await appendRows(conn, rawEvents, accepted);
      await appendRows(conn, rawOrderLines, lines);
      await conn.run('CHECKPOINT');
      bareRates.push(rows / seconds(t0));
      conn.closeSync();
      inst.closeSync();
    }
    {
      const wh = await LocalWarehouse.open({ path: join(dir, `sink-${round}.duckdb`) });
      const t0 = performance.now();
      for (let i = 0; i < writes.length; i += RUNNER_BATCH) await Promise.all(writes.slice(i, i + RUNNER_BATCH).map((w) => wh.write(w)));
      await wh.run('CHECKPOINT');
      sinkRates.push(rows / seconds(t0));
      const [stored] = await wh.query<{ n: number }>('select count(*) as n from raw.events');
      const n = stored === undefined ? 0 : stored.n;
      if (Number(n) !== rows) throw new Error(`RawSink stored ${n} of ${rows} rows`);
      await wh.close();
    }
    log(`  round ${round + 1}: RawSink ${Math.round(sinkRates.at(-1)!)} rows/s, bare appender ${Math.round(bareRates.at(-1)!)} rows/s`);
  }
  return { rows, rows_per_s: Math.round(median(sinkRates)), baseline_appender_rows_per_s: Math.round(median(bareRates)) };
}
