// Reprocessing a stretch of history (`tillstream reprocess --from --to [--marts …] [--revalidate]`):
// rebuild the mart windows over the range from raw partitions, re-export them, and report what
// changed (rows before and after per mart, cells written). With `revalidate`, first re-run ingest
// over the archived payloads received in the range: every entry is validated again with its
// archived received_at, so results do not depend on when this runs; entries move between end
// states (the sink replaces each message's rows) and nothing is added to `published`.
import type { EndState } from '../contracts/outcomes.js';
import { systemClock, type ArchiveReader, type Clock, type DedupeIndex, type InboundMessage, type IngestWrite, type SeriesStore, type Warehouse } from '../ports.js';
import { collectSeriesKeys, exportDocuments, exportWindows, martRows } from './exporter.js';
import { MARTS, martSpec } from './manifest.js';
import { buildWindows, type MartWindow } from './runner.js';
import { ceilHour, floorHour, hoursToRanges, mergeRanges, windowsForRule } from './windows.js';

export interface ReprocessOptions {
  /** Half-open range; event time, or received_at with `revalidate`. */
  from: Date;
  to: Date;
  /** Mart file stems; default all. */
  marts?: string[];
  revalidate?: boolean;
}

/** The ingest stage core (pipeline/ingest/stage.ts): validates, claims, writes through its sink, returns the write. */
export type RevalidateStage = (msg: InboundMessage) => Promise<{ write: IngestWrite }>;

export interface ReprocessDeps {
  warehouse: Warehouse;
  series: SeriesStore;
  clock?: Clock;
  /** Needed with `revalidate`. */
  archive?: ArchiveReader;
  dedupe?: DedupeIndex;
  stage?: RevalidateStage;
}

export interface MartChange {
  rowsBefore: number;
  rowsAfter: number;
  /** Rows present after and not before (by content), and the reverse; an updated row counts in both. */
  rowsAdded: number;
  rowsRemoved: number;
}

export interface RevalidationReport {
  messages: number;
  entries: number;
  /** `from→to` (end states, rejected with its reason: `rejected:event_too_old`) → entries moved. */
  moved: Record<string, number>;
}

export interface ReprocessReport {
  runId: string;
  windows: MartWindow[];
  marts: Record<string, MartChange>;
  cells: number;
  deletedRows: number;
  revalidation?: RevalidationReport;
}

type EntryState = { state: EndState; reason?: string };
const label = (s: EntryState | undefined): string => (s ? (s.reason ? `${s.state}:${s.reason}` : s.state) : 'none');

/** End state of each entry of a message as the stores hold it now. */
async function storedStates(warehouse: Warehouse, msg: InboundMessage): Promise<Map<number, EntryState & { eventTs?: Date; merchantId?: string; eventId?: string }>> {
  const params = { message_id: msg.id, received_at: msg.receivedAt };
  const accepted = await warehouse.query<{ entry_index: number; event_ts: Date; merchant_id: string; event_id: string }>(
    // raw.events is partitioned by event time: the reprocessing horizon bounds the scan.
    `select entry_index, event_ts, merchant_id, event_id from raw.events
     where message_id = @message_id and event_ts >= timestamp_sub(@received_at, interval 400 day)`,
    params,
  );
  const rejected = await warehouse.query<{ entry_index: number; reason: string }>(
    'select entry_index, reason from raw.rejected_events where message_id = @message_id and received_at = @received_at',
    params,
  );
  const duplicates = await warehouse.query<{ entry_index: number }>(
    'select entry_index from raw.duplicates where message_id = @message_id and received_at = @received_at',
    params,
  );
  const out = new Map<number, EntryState & { eventTs?: Date; merchantId?: string; eventId?: string }>();
  for (const r of accepted) out.set(Number(r.entry_index), { state: 'accepted', eventTs: new Date(r.event_ts), merchantId: r.merchant_id, eventId: r.event_id });
  for (const r of rejected) out.set(Number(r.entry_index), { state: 'rejected', reason: r.reason });
  for (const r of duplicates) out.set(Number(r.entry_index), { state: 'duplicate' });
  return out;
}

function writtenStates(write: IngestWrite, messageId: string): Map<number, EntryState> {
  const out = new Map<number, EntryState>();
  for (const r of write.accepted) if (r.message_id === messageId) out.set(Number(r.entry_index), { state: 'accepted' });
  for (const r of write.rejected) if (r.message_id === messageId) out.set(r.entry_index, { state: 'rejected', reason: r.reason });
  for (const r of write.duplicates) if (r.message_id === messageId) out.set(r.entry_index, { state: 'duplicate' });
  return out;
}

/**
 * Re-runs ingest over the archived messages received in [from, to). Returns the report and the
 * UTC hours whose events changed (old and new event hours of every message).
 */
export async function revalidate(deps: Required<Pick<ReprocessDeps, 'warehouse' | 'archive' | 'stage'>> & Pick<ReprocessDeps, 'dedupe'>, range: { from: Date; to: Date }): Promise<{ report: RevalidationReport; touchedHours: Date[] }> {
  const report: RevalidationReport = { messages: 0, entries: 0, moved: {} };
  const hours = new Map<number, Date>();
  const touch = (d: Date) => hours.set(floorHour(d).getTime(), floorHour(d));
  for await (const msg of deps.archive.read(range)) {
    report.messages++;
    report.entries += msg.entries.length;
    const before = await storedStates(deps.warehouse, msg);
    const { write } = await deps.stage(msg);
    const after = writtenStates(write, msg.id);
    // Entries that owned their event and no longer pass give up the claim, so a later copy can own it.
    const released = [...before].filter(([i, s]) => s.state === 'accepted' && after.get(i)?.state !== 'accepted');
    if (released.length > 0 && deps.dedupe?.release) {
      await deps.dedupe.release(released.map(([i, s]) => ({ merchantId: s.merchantId!, eventId: s.eventId!, entry: { messageId: msg.id, index: i } })));
    }
    for (let i = 0; i < msg.entries.length; i++) {
      const from = label(before.get(i));
      const to = label(after.get(i));
      if (from !== to) report.moved[`${from}→${to}`] = (report.moved[`${from}→${to}`] ?? 0) + 1;
    }
    for (const s of before.values()) if (s.eventTs) touch(s.eventTs);
    for (const a of write.arrivals) touch(new Date(a.event_hour));
  }
  return { report, touchedHours: [...hours.values()].sort((a, b) => a.getTime() - b.getTime()) };
}

const rowSet = (rows: Record<string, unknown>[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rows) {
    const k = JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
};
const missingFrom = (a: Map<string, number>, b: Map<string, number>): number => {
  let n = 0;
  for (const [k, c] of a) n += Math.max(0, c - (b.get(k) ?? 0));
  return n;
};

export async function reprocess(deps: ReprocessDeps, opts: ReprocessOptions): Promise<ReprocessReport> {
  if (!(opts.to > opts.from)) throw new Error(`reprocess: --to (${opts.to.toISOString()}) must be after --from (${opts.from.toISOString()})`);
  const clock = deps.clock ?? systemClock;
  const specs = opts.marts ? opts.marts.map(martSpec) : MARTS;
  const current = floorHour(clock.now());

  let revalidation: RevalidationReport | undefined;
  let windows: MartWindow[];
  if (opts.revalidate) {
    if (!deps.archive || !deps.stage) throw new Error('reprocess --revalidate needs the payload archive and the ingest stage');
    const result = await revalidate({ warehouse: deps.warehouse, archive: deps.archive, stage: deps.stage, dedupe: deps.dedupe }, { from: opts.from, to: opts.to });
    revalidation = result.report;
    // Raw changed: rebuild the changed hours and what depends on them, as a scheduled run would.
    const touched = hoursToRanges(result.touchedHours);
    windows = specs.flatMap((s) => windowsForRule(s, touched, current).map((r) => ({ mart: s.stem, windowStart: r.start, windowEnd: r.end })));
  } else {
    // Raw is unchanged: rebuild the range itself (by event time), daily marts over the local days it overlaps.
    const [range] = mergeRanges([{ start: floorHour(opts.from), end: ceilHour(opts.to) }]);
    windows = range ? specs.map((s) => ({ mart: s.stem, windowStart: range.start, windowEnd: range.end })) : [];
  }

  const before = new Map<string, Record<string, unknown>[]>();
  const previousKeys = new Set<string>();
  const result = await buildWindows(deps.warehouse, windows, {
    kind: 'reprocess',
    clock,
    beforeWindow: async (w) => {
      const rows = await martRows(deps.warehouse, w);
      before.set(`${w.mart}|${w.windowStart.toISOString()}`, rows);
      await collectSeriesKeys(deps.warehouse, w, previousKeys);
    },
  });
  const marts: Record<string, MartChange> = {};
  for (const w of result.windows) {
    const old = rowSet(before.get(`${w.mart}|${w.windowStart.toISOString()}`) ?? []);
    const now = rowSet(await martRows(deps.warehouse, w));
    const c = (marts[w.mart] ??= { rowsBefore: 0, rowsAfter: 0, rowsAdded: 0, rowsRemoved: 0 });
    c.rowsBefore += w.rowsBefore;
    c.rowsAfter += w.rowsAfter;
    c.rowsAdded += missingFrom(now, old);
    c.rowsRemoved += missingFrom(old, now);
  }
  const exported = await exportWindows({ warehouse: deps.warehouse, series: deps.series }, result.windows, { previousKeys });
  await exportDocuments({ warehouse: deps.warehouse, series: deps.series });
  return { runId: result.runId, windows: result.windows.map(({ mart, windowStart, windowEnd }) => ({ mart, windowStart, windowEnd })), marts, cells: exported.cells, deletedRows: exported.deletedRows, ...(revalidation ? { revalidation } : {}) };
}
