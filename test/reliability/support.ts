// Shared helpers of the reliability proofs: a deterministic workload cut into bus messages the way
// `tillstream start` seeds it, a clock shifted to a chosen minute so several processes agree on the
// hour in progress, and digests of the complete contents of the marts and of the series store, so a
// run under faults can be compared with a clean run as whole values.
import { createHash } from 'node:crypto';
import { generateWorkload, type Workload } from '../../demo/generator.js';
import type { EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { batchEntries } from '../../pipeline/ingest/entries.js';
import { MARTS } from '../../pipeline/marts/manifest.js';
import type { Clock, InboundMessage, SeriesRow, SeriesStore, Warehouse } from '../../pipeline/ports.js';
import { mulberry32 } from '../support/random.js';

export type OutboundMessage = Omit<InboundMessage, 'id' | 'deliveryAttempt'>;

const HOUR = 3_600_000;

/**
 * A clock running at real speed but shifted so that it read `minute` minutes past an hour when the
 * shift was chosen: processes started one after another with the same shift agree on the hour in
 * progress for the next 45 minutes, so their mart runs finalize the same hours.
 */
export function shiftFor(minute = 10, realNow = Date.now()): number {
  const target = Math.floor(realNow / HOUR) * HOUR + minute * 60_000;
  return realNow - target;
}
export const shiftedClock = (shiftMs: number): Clock => ({ now: () => new Date(Date.now() - shiftMs) });
export const hourFloor = (d: Date): Date => new Date(Math.floor(d.getTime() / HOUR) * HOUR);

/**
 * The demo workload (seeded, so byte-identical every time) as bus messages: POS orders in their
 * 15-minute batch files, everything else as collector-sized bodies, in receive order.
 */
export function workloadMessages(opts: { events: number; seed: string; anchor: Date; receivedAt: Date; runId?: string }): { workload: Workload; messages: OutboundMessage[] } {
  const workload = generateWorkload({ events: opts.events, seed: opts.seed, anchor: opts.anchor, days: 2 });
  const messages: OutboundMessage[] = [];
  const run = opts.runId ? { run_id: opts.runId } : {};
  const online = { source: 'online' as const, ...run };
  const pos = { source: 'pos' as const, ...run };
  const limits = { maxEntries: 50 };
  let next = 0;
  const flushOnline = (end: number) => {
    if (end > next) for (const batch of batchEntries(workload.entries.slice(next, end), limits)) messages.push({ receivedAt: opts.receivedAt, attributes: online, entries: batch });
  };
  for (const b of [...workload.posBatches].sort((x, y) => x.first_entry - y.first_entry)) {
    flushOnline(b.first_entry);
    for (const batch of batchEntries(workload.entries.slice(b.first_entry, b.first_entry + b.count), limits)) messages.push({ receivedAt: opts.receivedAt, attributes: pos, entries: batch });
    next = b.first_entry + b.count;
  }
  flushOnline(workload.entries.length);
  return { workload, messages };
}

const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Date ? x.toISOString() : x));
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Every mart's full contents (all columns; mart tables carry no run bookkeeping), ordered, as row count and hash. */
export async function martDigest(warehouse: Warehouse): Promise<Record<string, { rows: number; sha256: string }>> {
  const out: Record<string, { rows: number; sha256: string }> = {};
  for (const m of MARTS) {
    const rows = await warehouse.query(`select * from ${m.table.id} order by all`);
    out[m.stem] = { rows: rows.length, sha256: sha256(rows.map(stable).join('\n')) };
  }
  return out;
}

/** Every row of the series store, in key order. */
export async function seriesRows(series: SeriesStore): Promise<SeriesRow[]> {
  return series.readRange({ start: '\u0000', end: '\uffff' });
}

export async function seriesDigest(series: SeriesStore): Promise<{ rows: number; cells: number; sha256: string }> {
  const rows = await seriesRows(series);
  let cells = 0;
  for (const r of rows) for (const f of Object.values(r.cells)) cells += Object.keys(f).length;
  return { rows: rows.length, cells, sha256: sha256(stable(rows)) };
}

/** Counts over the whole data directory: published from the bus, the rest from the warehouse tables. */
export async function totalCounts(rt: { bus: { publishedEntries(): number }; warehouse: { entryCounts(): Promise<Omit<EntryCounts, 'published'>> } }): Promise<EntryCounts> {
  return { published: rt.bus.publishedEntries(), ...(await rt.warehouse.entryCounts()) };
}

/** A small seeded generator (mulberry32): the same seed gives the same faults, kills and corpora. */
export const seededRandom = mulberry32;

export function shuffle<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
