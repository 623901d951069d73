// Reprocessing a stretch of history (`tillstream reprocess --from --to [--marts …] [--revalidate]`):
// rebuild the mart windows over the range from raw partitions, re-export them, and report what
// changed (rows before and after per mart, cells written). With `revalidate`, first re-run ingest
// over the archived payloads received in the range: every entry is validated again with its
// archived received_at, so results do not depend on when this runs; entries move between end
// states (the sink replaces each message's rows) and nothing is added to `published`.
import type { EndState } from '../contracts/outcomes.js';
import { DEFAULT_INGEST_CONFIG, type IngestConfig } from '../ingest/config.js';
import { systemClock, type ShardCheckpoint, type ArchiveReader, type Clock, type DedupeIndex, type InboundMessage, type IngestWrite, type SeriesStore, type Warehouse } from '../ports.js';
import { runCycle, type CycleDeps, type MartChange } from './hourly.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { MARTS, martSpec } from './manifest.js';
import type { ChunkRows } from './replacing-sink.js';
import { rangeWindows } from './statements.js';
import type { MartWindow } from './windows.js';
import { floorHour, HOUR_MS } from '../time.js';
import { hoursToRanges, windowsForRule } from './windows.js';

export interface ReprocessOptions {
  /** Half-open range; event time, or received_at with `revalidate`. */
  from: Date;
  to: Date;
  /** Mart file stems; default all. */
  marts?: string[];
  revalidate?: boolean;
  /** Mart settings (the reprocessing horizon); default DEFAULT_MART_CONFIG. */
  config?: MartConfig;
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
  /**
   * Deletes the stored rows of a chunk of messages once their states are read and before their stage
   * runs, where the sink does not replace by message itself (gcp: replacing-sink.ts clearAhead).
   */
  clearAhead?: (chunk: ChunkRows) => Promise<void>;
  /** The checkpoint of a re-validation of [from, to), for archives read in shards (resume after a crash). */
  checkpoint?: (range: { from: Date; to: Date }) => ShardCheckpoint;
  /** Called as the rebuild's windows are built (the command line's progress bar). */
  onWindow?: CycleDeps['onWindow'];
  /** Called after each chunk re-validated, with the messages and entries so far. */
  onRevalidated?: (p: { messages: number; entries: number }) => void;
}

export type { MartChange } from './hourly.js';

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
type StoredState = EntryState & { eventTs?: Date; merchantId?: string; eventId?: string };
const label = (s: EntryState | undefined): string => (s ? (s.reason ? `${s.state}:${s.reason}` : s.state) : 'none');

/** Where accepted rows of re-validated messages can lie, beyond what raw.arrivals says (ingest's clock rule). */
export type RevalidateLimits = Pick<IngestConfig, 'maxEventAgeMs' | 'futureSkewMs'>;

/**
 * How many archived messages (and entries) share one set of look-ups. Each look-up scans the
 * partitions of the whole chunk once, so larger chunks mean fewer scans; the chunk is held in memory.
 */
export const REVALIDATE_CHUNK = { messages: 500, entries: 50_000 };


/**
 * The look-ups of one chunk, one per raw table. `@ids` is the chunk's message ids (an array; `in
 * (select … from unnest(…))` reads the same on BigQuery and DuckDB); `@received_from`/`@received_to`
 * its first and last received_at; `@events_from`/`@events_to` where its accepted events can lie.
 */
export const REVALIDATE_LOOKUPS = {
  arrivals: `select message_id, received_at, min(event_hour) as first_hour, max(event_hour) as last_hour from raw.arrivals
   where message_id in (select id from unnest(@ids) as id) and received_at >= @received_from and received_at <= @received_to
   group by message_id, received_at`,
  events: `select message_id, entry_index, event_ts, merchant_id, event_id from raw.events
   where message_id in (select id from unnest(@ids) as id) and event_ts >= @events_from and event_ts <= @events_to`,
  rejected: `select message_id, received_at, entry_index, reason from raw.rejected_events
   where message_id in (select id from unnest(@ids) as id) and received_at >= @received_from and received_at <= @received_to`,
  duplicates: `select message_id, received_at, entry_index from raw.duplicates
   where message_id in (select id from unnest(@ids) as id) and received_at >= @received_from and received_at <= @received_to`,
} as const;

const timeOf = (v: unknown): number => (v instanceof Date ? v.getTime() : new Date(v as string).getTime());

/**
 * End state of each entry of every message in the chunk as the stores hold it now: one query per
 * raw table for the whole chunk, not one per message. raw.rejected_events, raw.duplicates and
 * raw.arrivals are partitioned by received_at, so the chunk's received_at span bounds them. raw.events
 * is partitioned by event time: it is bounded by the event hours raw.arrivals records for the chunk,
 * widened to where ingest's clock rule lets an accepted event lie (maximum age before the first
 * received_at, future skew after the last), so rows written before a change of that rule are still
 * found; a backfill message raw.arrivals knows nothing of widens it to the reprocessing horizon.
 */
async function storedStates(warehouse: Warehouse, chunk: InboundMessage[], limits: RevalidateLimits, horizonMs: number): Promise<{ states: Map<string, Map<number, StoredState>>; rows: ChunkRows }> {
  const ids = chunk.map((m) => m.id);
  const receivedAt = new Map(chunk.map((m) => [m.id, m.receivedAt.getTime()]));
  let first = Infinity;
  let last = -Infinity;
  for (const m of chunk) {
    first = Math.min(first, m.receivedAt.getTime());
    last = Math.max(last, m.receivedAt.getTime());
  }
  const byReceived = { ids, received_from: new Date(first), received_to: new Date(last) };
  // Rows of a message written with another received_at are not this archived copy's.
  const ours = (r: { message_id: string; received_at: unknown }) => receivedAt.get(r.message_id) === timeOf(r.received_at);

  const arrivals = await warehouse.query<{ message_id: string; received_at: Date; first_hour: Date; last_hour: Date }>(
    REVALIDATE_LOOKUPS.arrivals,
    byReceived,
  );
  let eventsFrom = first - limits.maxEventAgeMs;
  let eventsTo = last + limits.futureSkewMs;
  const known = new Set<string>();
  for (const a of arrivals) {
    if (!ours(a)) continue;
    known.add(a.message_id);
    eventsFrom = Math.min(eventsFrom, timeOf(a.first_hour));
    eventsTo = Math.max(eventsTo, timeOf(a.last_hour) + HOUR_MS);
  }
  if (chunk.some((m) => m.attributes.backfill === '1' && !known.has(m.id))) eventsFrom = Math.min(eventsFrom, first - horizonMs);

  const accepted = await warehouse.query<{ message_id: string; entry_index: number; event_ts: Date; merchant_id: string; event_id: string }>(
    REVALIDATE_LOOKUPS.events,
    { ids, events_from: new Date(eventsFrom), events_to: new Date(eventsTo) },
  );
  const rejected = await warehouse.query<{ message_id: string; received_at: Date; entry_index: number; reason: string }>(
    REVALIDATE_LOOKUPS.rejected,
    byReceived,
  );
  const duplicates = await warehouse.query<{ message_id: string; received_at: Date; entry_index: number }>(
    REVALIDATE_LOOKUPS.duplicates,
    byReceived,
  );
  const out = new Map<string, Map<number, StoredState>>(ids.map((id) => [id, new Map()]));
  for (const r of accepted) out.get(r.message_id)?.set(Number(r.entry_index), { state: 'accepted', eventTs: new Date(r.event_ts), merchantId: r.merchant_id, eventId: r.event_id });
  for (const r of rejected) if (ours(r)) out.get(r.message_id)?.set(Number(r.entry_index), { state: 'rejected', reason: r.reason });
  for (const r of duplicates) if (ours(r)) out.get(r.message_id)?.set(Number(r.entry_index), { state: 'duplicate' });
  return { states: out, rows: { ids, receivedFrom: new Date(first), receivedTo: new Date(last), eventsFrom: new Date(eventsFrom), eventsTo: new Date(eventsTo) } };
}

/** The archive in chunks of whole messages; a message id seen again starts a new chunk (its look-up must follow the earlier write). */
async function* chunksOf(messages: AsyncIterable<InboundMessage> | Iterable<InboundMessage>, size: typeof REVALIDATE_CHUNK): AsyncGenerator<InboundMessage[]> {
  let chunk: InboundMessage[] = [];
  let ids = new Set<string>();
  let entries = 0;
  for await (const msg of messages) {
    if (chunk.length > 0 && (ids.has(msg.id) || chunk.length >= size.messages || entries + msg.entries.length > size.entries)) {
      yield chunk;
      chunk = [];
      ids = new Set();
      entries = 0;
    }
    chunk.push(msg);
    ids.add(msg.id);
    entries += msg.entries.length;
  }
  if (chunk.length > 0) yield chunk;
}

function writtenStates(write: IngestWrite, messageId: string): Map<number, EntryState> {
  const out = new Map<number, EntryState>();
  for (const r of write.accepted) if (r.message_id === messageId) out.set(Number(r.entry_index), { state: 'accepted' });
  for (const r of write.rejected) if (r.message_id === messageId) out.set(r.entry_index, { state: 'rejected', reason: r.reason });
  for (const r of write.duplicates) if (r.message_id === messageId) out.set(r.entry_index, { state: 'duplicate' });
  return out;
}

/**
 * Re-runs ingest over the archived messages received in [from, to), a chunk of messages at a time
 * (one set of look-ups per chunk), each message through the stage in receive order. Returns the
 * report and the UTC hours whose events changed (old and new event hours of every message).
 */
export async function revalidate(
  deps: Required<Pick<ReprocessDeps, 'warehouse' | 'archive' | 'stage'>> & Pick<ReprocessDeps, 'dedupe' | 'clearAhead'> & {
    /** The stage's clock rule (default DEFAULT_INGEST_CONFIG, as the stages of both runtimes use). */
    limits?: RevalidateLimits;
    /** The reprocessing horizon: bounds the raw.events look-up of a backfill message raw.arrivals does not know. */
    horizonDays?: number;
    /**
     * With an archive that reads in shards: the last shard finished, saved after each shard, so a
     * run restarted after a crash resumes after it (its report then counts the shards it re-ran).
     */
    checkpoint?: ShardCheckpoint;
    onRevalidated?: ReprocessDeps['onRevalidated'];
  },
  range: { from: Date; to: Date },
  chunkSize: typeof REVALIDATE_CHUNK = REVALIDATE_CHUNK,
): Promise<{ report: RevalidationReport; touchedHours: Date[] }> {
  const report: RevalidationReport = { messages: 0, entries: 0, moved: {} };
  const hours = new Map<number, Date>();
  const touch = (d: Date) => hours.set(floorHour(d).getTime(), floorHour(d));
  const limits = deps.limits ?? DEFAULT_INGEST_CONFIG;
  // Shard by shard when the archive has shards: memory holds one shard and one chunk, and a chunk
  // never spans shards, so a shard's checkpoint is saved only once all of its messages are written.
  // Each chunk's look-ups and clearAhead deletes are bounded by its own rows' received_at and event-time
  // span, passed as parameters on the partitioning columns, which is what lets BigQuery prune the
  // partitions a query or DML statement reads (https://cloud.google.com/bigquery/docs/querying-partitioned-tables).
  // A checkpoint names a shard, so only an archive read in shards has one to load.
  const after = deps.checkpoint && deps.archive.readShards ? await deps.checkpoint.load() : undefined;
  const shards: AsyncIterable<{ shard?: string; messages: AsyncIterable<InboundMessage> | InboundMessage[] }> = deps.archive.readShards
    ? deps.archive.readShards(range, after === undefined ? {} : { after })
    : (async function* () {
        yield { messages: deps.archive.read(range) };
      })();
  for await (const { shard, messages } of shards) {
    for await (const chunk of chunksOf(messages, chunkSize)) {
      await revalidateChunk(chunk);
      deps.onRevalidated?.({ messages: report.messages, entries: report.entries });
    }
    if (shard !== undefined) await deps.checkpoint?.save(shard);
  }
  return { report, touchedHours: [...hours.values()].sort((a, b) => a.getTime() - b.getTime()) };

  async function revalidateChunk(chunk: InboundMessage[]): Promise<void> {
    // A message's write replaces only its own rows, so the chunk's states read up front are each message's state before its turn.
    const { states: stored, rows } = await storedStates(deps.warehouse, chunk, limits, (deps.horizonDays ?? DEFAULT_MART_CONFIG.horizonDays) * 24 * HOUR_MS);
    if (deps.clearAhead) await deps.clearAhead(rows);
    for (const msg of chunk) {
      report.messages++;
      report.entries += msg.entries.length;
      const before = stored.get(msg.id)!;
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
  }
}

export async function reprocess(deps: ReprocessDeps, opts: ReprocessOptions): Promise<ReprocessReport> {
  if (!(opts.to > opts.from)) throw new Error(`reprocess: --to (${opts.to.toISOString()}) must be after --from (${opts.from.toISOString()})`);
  const clock = deps.clock ?? systemClock;
  const specs = opts.marts ? opts.marts.map(martSpec) : MARTS;
  const current = floorHour(clock.now());

  let revalidation: RevalidationReport | undefined;
  let windows: MartWindow[];
  if (opts.revalidate) {
    if (!deps.archive || !deps.stage) throw new Error('reprocess --revalidate needs the payload archive and the ingest stage');
    const result = await revalidate({ warehouse: deps.warehouse, archive: deps.archive, stage: deps.stage, dedupe: deps.dedupe, clearAhead: deps.clearAhead, horizonDays: opts.config?.horizonDays, onRevalidated: deps.onRevalidated, ...(deps.checkpoint ? { checkpoint: deps.checkpoint({ from: opts.from, to: opts.to }) } : {}) }, { from: opts.from, to: opts.to });
    revalidation = result.report;
    // Raw changed: rebuild the changed hours and what depends on them, as a scheduled run would.
    const touched = hoursToRanges(result.touchedHours);
    windows = specs.flatMap((s) => windowsForRule(s, touched, current).map((r) => ({ mart: s.stem, windowStart: r.start, windowEnd: r.end })));
  } else {
    // Raw is unchanged: rebuild the range itself (by event time), daily marts over the local days it overlaps.
    windows = rangeWindows({ from: opts.from, to: opts.to, marts: opts.marts });
  }

  const cycle = await runCycle({ warehouse: deps.warehouse, series: deps.series, clock, config: opts.config, onWindow: deps.onWindow }, { kind: 'reprocess', windows, compare: true });
  return {
    runId: cycle.runId!,
    windows: cycle.windows.map(({ mart, windowStart, windowEnd }) => ({ mart, windowStart, windowEnd })),
    marts: cycle.changes!,
    cells: cycle.cells,
    deletedRows: cycle.deletedRows,
    ...(revalidation ? { revalidation } : {}),
  };
}
