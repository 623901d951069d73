// Marts figure: every hourly mart (sql/marts/mart_hourly_*.sql, MERGE + assertions + run record, as
// the runner does it) rebuilt over all raw events at each size, against one bare DuckDB GROUP BY by
// merchant, store and hour over the same raw events, same run. Sizes grow in one warehouse: copies
// are added between sizes and the hourly marts emptied, so each size is a rebuild from scratch.
import type { LocalPipeline } from '../runtime/local-writer.js';
import { MARTS } from '../pipeline/marts/manifest.js';
import { buildMarts, prepareMarts } from '../pipeline/marts/runner.js';
import { rawCount, rawSpan, replicate } from './raw-fill.js';
import { median, type MartSize } from './result.js';

const HOUR_MS = 3_600_000;
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const HOURLY = MARTS.filter((m) => m.grain === 'hour');

const GROUP_BY = `create or replace temp table bench_groupby as
  select merchant_id, store_id, date_trunc('hour', event_ts) as hour_start, count(*) as events, sum(net_minor) as net_minor
  from raw.events
  group by merchant_id, store_id, date_trunc('hour', event_ts)`;

export async function measureMarts(rt: LocalPipeline, seedEvents: number, targets: number[], log: (s: string) => void): Promise<MartSize[]> {
  await prepareMarts(rt.warehouse);
  const sizes: MartSize[] = [];
  let copies = 1;
  for (const target of targets) {
    const want = Math.max(1, Math.round(target / seedEvents));
    log(`  filling raw to ${want} copies of ${seedEvents} events…`);
    await replicate(rt, copies, want);
    copies = want;
    const events = await rawCount(rt);
    const span = await rawSpan(rt);
    for (const m of HOURLY) await rt.warehouse.run(`delete from ${m.table.id} where true`);
    await rt.warehouse.run('CHECKPOINT');

    const baseline: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await rt.warehouse.exclusive((conn) => conn.run(GROUP_BY));
      baseline.push(seconds(t0));
    }
    // One mart at a time (the runner builds them one after another anyway), to say where the time goes.
    const byMart: Record<string, number> = {};
    let rows = 0;
    const t0 = performance.now();
    for (const m of HOURLY) {
      const tm = performance.now();
      const built = await buildMarts(rt.warehouse, {
        windowStart: new Date(Math.floor(span.start.getTime() / HOUR_MS) * HOUR_MS),
        windowEnd: new Date(Math.floor(span.end.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS),
        marts: [m.stem],
      });
      byMart[m.stem] = Math.round(seconds(tm) * 100) / 100;
      rows += built.windows.reduce((n, w) => n + w.rowsAfter, 0);
    }
    const s = seconds(t0);
    if (rows === 0) throw new Error('the hourly marts came out empty');
    const size: MartSize = {
      events,
      seconds: Math.round(s * 100) / 100,
      events_per_s: Math.round(events / s),
      baseline_groupby_events_per_s: Math.round(events / median(baseline)),
      seconds_by_mart: byMart,
    };
    sizes.push(size);
    log(`  ${events} events: hourly marts ${size.seconds} s (${size.events_per_s}/s, ${rows} mart rows); GROUP BY median ${median(baseline).toFixed(2)} s (${size.baseline_groupby_events_per_s}/s)`);
    log(`    by mart: ${Object.entries(byMart).map(([k, v]) => `${k} ${v} s`).join(', ')}`);
  }
  return sizes;
}
