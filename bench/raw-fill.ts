// Fills the raw tables of a local pipeline quickly for the marts and reprocess figures: the stage's
// rows of one demo workload are bulk-appended once, then replicated in DuckDB by INSERT … SELECT,
// each copy shifted back by the workload's span with its own event ids, so every copy is new data
// at the demo density (not a denser pile on the same hours).
import { appendRows } from '../adapters/local/duckdb-values.js';
import { openLocalPipeline, type LocalPipeline } from '../runtime/local-writer.js';
import type { IngestWrite } from '../pipeline/ports.js';
import { rawEvents, rawOrderLines } from '../pipeline/schema/raw.js';
import { ANCHOR, SPAN_DAYS, type BenchWorkload } from './workload.js';

export async function openBenchPipeline(dataDir: string, w: BenchWorkload): Promise<LocalPipeline> {
  const rt = await openLocalPipeline({ dataDir, command: 'bench', clock: { now: () => ANCHOR } });
  await rt.dimensions.load(w.dimensionsFile);
  return rt;
}

/** Appends the seed rows (copy 0). Returns the number of raw events per copy. */
export async function appendSeed(rt: LocalPipeline, writes: IngestWrite[]): Promise<number> {
  const events = writes.flatMap((w) => w.accepted);
  const lines = writes.flatMap((w) => w.orderLines);
  await rt.warehouse.exclusive(async (conn) => {
    await appendRows(conn, rawEvents, events);
    await appendRows(conn, rawOrderLines, lines);
  });
  return events.length;
}

/** Adds copies [from, to) of the seed (copy 0), copy k shifted back by k spans. */
export async function replicate(rt: LocalPipeline, from: number, to: number): Promise<void> {
  if (to <= from) return;
  const shift = (col: string) => `${col} - to_days(cast(k * ${SPAN_DAYS} as integer)) as ${col}`;
  await rt.warehouse.exclusive(async (conn) => {
    await conn.run(
      `insert into raw.events by name
       select e.* replace (e.event_id || '~' || k as event_id, ${shift('event_ts')}, ${shift('received_at')}, ${shift('promo_starts_at')}, ${shift('promo_ends_at')})
       from raw.events as e, range(${from}, ${to}) as t(k)
       where not contains(e.event_id, '~')`,
    );
    await conn.run(
      `insert into raw.order_lines by name
       select l.* replace (l.event_id || '~' || k as event_id, ${shift('event_ts')}, ${shift('received_at')})
       from raw.order_lines as l, range(${from}, ${to}) as t(k)
       where not contains(l.event_id, '~')`,
    );
    await conn.run('CHECKPOINT');
  });
}

export async function rawCount(rt: LocalPipeline): Promise<number> {
  const [row] = await rt.warehouse.query<{ n: number }>('select count(*) as n from raw.events');
  return Number(row!.n);
}

export async function rawSpan(rt: LocalPipeline): Promise<{ start: Date; end: Date }> {
  const [row] = await rt.warehouse.query<{ lo: Date; hi: Date }>('select min(event_ts) as lo, max(event_ts) as hi from raw.events');
  return { start: new Date(row!.lo), end: new Date(row!.hi) };
}
