// The speed layer's writer: after the ingest stage has durably written a message's rows, and before
// the message is acknowledged, its partial aggregates (partials.ts) go to the series store's partial
// family, in the rows the marts use, so the query API shows the hour in progress within seconds.
// Compaction folds message cells into one cell per metric so an hour stays one small read.
//
// Why a redelivery never counts twice (cell layout in cells.ts):
//   1. A message M writes, per row, the cells `<metric>@M`, in one conditional mutation that applies
//      only while the marker `~M` is absent. The values are a pure function of M's accepted rows, so
//      writing them again (a redelivery, or a retry after a failure) sets the same cells.
//   2. The compactor reads a row once, and in one conditional mutation — applied only while the
//      generation cell `!gen` still holds the value it read — sets each compacted sum to the old sum
//      plus the message cells it read, sets the marker of each folded message, deletes exactly those
//      message cells, and advances `!gen`.
//   Invariant: a message's cells and its marker never coexist, and compacted = Σ folded messages.
//   - A writer racing a compactor: both are atomic per row, so one goes first. Cells of a message
//     the compactor did not read are not deleted and stay counted. A redelivery of a message the
//     compactor did read either lands before it (same values, then deleted and folded) or after it
//     (the marker is present, nothing is written).
//   - Two compactors: the generation test lets only one apply a given snapshot; the other writes
//     nothing and leaves the row to the next compaction.
// When to compact: every writer adds 1 to the row's counter cell `!writes` alongside its conditional
//   write (ReadModifyWriteRow, atomic in the row), and the writer whose increment reaches a multiple of
//   compactEvery compacts the row once its write applied. The count lives in the row, not in a process, so however many
//   instances write a hot row, it holds at most about compactEvery messages' cells between
//   compactions. The counter only triggers: an extra or lost increment (a retried write) moves a
//   compaction, never a value.
//   Readers sum the compacted cells and the message cells (cells.ts provisionalValues); markers are
//   never read, so a read costs one cell per metric plus the messages since the last compaction.
// Retirement (exporter.ts) deletes the whole partial family of an hour the marts finalized, markers
// included; the hour is then served from the marts only, so a later redelivery of an old message
// can only write cells nobody reads. Messages of an hour already finalized write nothing at all.
import type { Clock, IngestWrite, Logger, SeriesMutation, SeriesStore } from '../ports.js';
import { FAMILY_PARTIAL, systemClock } from '../ports.js';
import type { IngestResult, IngestStage } from '../ingest/stage.js';
import { documentKey } from '../series/row-key.js';
import { isRankedKey, rankedTwinToWrite } from '../series/ranked.js';
import type { FreshnessDocument } from '../series/documents.js';
import { GENERATION, marker, messageCell, parseQualifier, WRITES } from './cells.js';
import { partialsOf } from './partials.js';
import { HOUR_MS } from '../time.js';

export interface PartialWriterOptions {
  series: SeriesStore;
  /** A row is compacted each time this many messages, from any writer instance, have written to it. */
  compactEvery?: number;
  /**
   * End of the last finalized hour for a merchant, or null; hours ending at or before it are served
   * from the marts only, so their partials are not written. Default: the mirrored freshness document.
   */
  finalizedThrough?: (merchantId: string) => Promise<Date | null>;
  clock?: Clock;
}

export interface PartialWriteResult {
  /** Rows whose message cells were written (rows of finalized hours are skipped). */
  rows: number;
  /** Cells set. */
  cells: number;
  /** Rows where the message was already folded: a late redelivery, nothing written. */
  alreadyFolded: number;
  /** Rows compacted after this write. */
  compacted: number;
}

export interface PartialWriter {
  /** Writes one message's partials; call after the raw write, before the ack. Idempotent per message. */
  write(messageId: string, write: Pick<IngestWrite, 'accepted' | 'orderLines'>): Promise<PartialWriteResult>;
  /** Folds a row's message cells into its compacted cells; false if there was nothing to fold or another compactor won. */
  compact(key: string): Promise<boolean>;
}

export const DEFAULT_COMPACT_EVERY = 16;
const FRESHNESS_TTL_MS = 30_000;

export function createPartialWriter(opts: PartialWriterOptions): PartialWriter {
  const { series } = opts;
  const checkAndMutate = series.checkAndMutate?.bind(series);
  const increment = series.increment?.bind(series);
  if (!checkAndMutate || !increment) throw new Error('the speed layer needs a series store with conditional writes and counters (checkAndMutate, increment)');
  const compactEvery = opts.compactEvery ?? DEFAULT_COMPACT_EVERY;
  if (!Number.isInteger(compactEvery) || compactEvery < 1) throw new Error(`compactEvery must be a positive integer, got ${compactEvery}`);
  const clock = opts.clock ?? systemClock;
  const finalizedThrough = opts.finalizedThrough ?? freshnessDocumentReader(series, clock);

  async function compact(key: string): Promise<boolean> {
    const [row] = await series.readRange({ start: key, end: key + '\u0000' });
    const cells = row?.key === key ? row.cells[FAMILY_PARTIAL] : undefined;
    if (!cells) return false;
    const sums: Record<string, number> = {};
    const folded = new Set<string>();
    const messageQualifiers: string[] = [];
    for (const [q, v] of Object.entries(cells)) {
      const p = parseQualifier(q);
      if (p.kind === 'internal') continue;
      sums[p.metric] = (sums[p.metric] ?? 0) + (v ?? 0);
      if (p.kind === 'message') {
        folded.add(p.messageId);
        messageQualifiers.push(q);
      }
    }
    if (messageQualifiers.length === 0) return false;
    const generation = cells[GENERATION] ?? undefined;
    const set: Record<string, number> = { ...sums, [GENERATION]: (generation ?? 0) + 1 };
    for (const id of folded) set[marker(id)] = 1;
    const [applied] = await checkAndMutate!([
      {
        key,
        condition: { family: FAMILY_PARTIAL, qualifier: GENERATION, equals: generation === null ? undefined : generation },
        mutations: [
          { kind: 'set', key, family: FAMILY_PARTIAL, cells: set },
          { kind: 'delete_cells', key, family: FAMILY_PARTIAL, qualifiers: messageQualifiers },
        ],
      },
    ]);
    return applied === true;
  }

  return {
    compact,
    async write(messageId, write) {
      const result: PartialWriteResult = { rows: 0, cells: 0, alreadyFolded: 0, compacted: 0 };
      const partials = partialsOf(write);
      if (partials.length === 0) return result;
      const finalized = new Map<string, number>();
      for (const p of partials) {
        if (!finalized.has(p.merchantId)) finalized.set(p.merchantId, (await finalizedThrough(p.merchantId))?.getTime() ?? -Infinity);
      }
      const open = partials.filter((p) => p.hourStart.getTime() + HOUR_MS > finalized.get(p.merchantId)!);
      // A ranked row's twin (series/ranked.ts) is written as a row of its own: its own marker, counter
      // and compaction, so each row keeps the invariant above whatever happens to the other. A store that
      // mirrors twins copies the row's bytes to its twin in the row's transaction, so none is written here.
      // The result counts the series rows.
      const rows = open.length;
      for (let i = 0; i < rows; i++) {
        const twin = rankedTwinToWrite(series, open[i]!.key);
        if (twin !== undefined) open.push({ ...open[i]!, key: twin });
      }
      if (open.length === 0) return result;
      // The counters are incremented together with the conditional writes, not after them: a store
      // that group-commits (the local one) then reads and writes each row once for both, and Bigtable
      // saves a round trip. A row whose write did not apply (a late redelivery) counts one write too
      // many, which moves its next compaction and never a value.
      // messageCell(metric, messageId) is metric + this suffix; the condition is the same for every row.
      const cellSuffix = messageCell('', messageId);
      const condition = { family: FAMILY_PARTIAL, qualifier: marker(messageId) };
      const [applied, counts] = await Promise.all([
        checkAndMutate!(
          open.map((p) => {
            // Without a prototype V8 keeps the object as a dictionary from the start: each message's
            // qualifiers are new property names, which on a literal each made a new hidden class.
            const cells: Record<string, number> = Object.create(null) as Record<string, number>;
            for (const metric in p.values) cells[metric + cellSuffix] = p.values[metric]!;
            const mutation: SeriesMutation = { kind: 'set', key: p.key, family: FAMILY_PARTIAL, cells };
            return { key: p.key, condition, mutations: [mutation] };
          }),
        ),
        increment!(open.map((p) => ({ key: p.key, family: FAMILY_PARTIAL, qualifier: WRITES, by: 1 }))),
      ]);
      const due: string[] = [];
      open.forEach((p, i) => {
        if (!applied[i]) {
          if (i < rows) result.alreadyFolded++;
          return;
        }
        if (i < rows) {
          result.rows++;
          result.cells += Object.keys(p.values).length;
        }
        if (counts[i]! % compactEvery === 0) due.push(p.key);
      });
      for (const key of due) if ((await compact(key)) && !isRankedKey(key)) result.compacted++;
      return result;
    },
  };
}

/** finalized_through from the mirrored freshness documents, cached per merchant for a short while. */
export function freshnessDocumentReader(series: SeriesStore, clock: Clock = systemClock, ttlMs = FRESHNESS_TTL_MS): (merchantId: string) => Promise<Date | null> {
  const cache = new Map<string, { at: number; value: Date | null }>();
  return async (merchantId) => {
    const now = clock.now().getTime();
    const hit = cache.get(merchantId);
    if (hit && now - hit.at < ttlMs) return hit.value;
    const doc = await series.getDocument<FreshnessDocument>(documentKey(merchantId, 'freshness'));
    const value = doc?.finalized_through ? new Date(doc.finalized_through) : null;
    cache.set(merchantId, { at: now, value });
    return value;
  };
}

/**
 * The ingest stage with the speed layer: the stage writes its rows, then the message's partials are
 * written, and only then does the stage resolve, so the runner or function acknowledges a message
 * only once both are durable. A failed partial write fails the message (it is retried, and the
 * rows' writes are idempotent) — except on the last delivery attempt: there the rows are already
 * accepted, and failing would turn them into processing_failed rejections as well, so the partials
 * are given up (logged) and the marts alone count the message when they finalize its hours.
 */
export function withSpeedLayer(stage: IngestStage, writer: PartialWriter, opts: { maxAttempts: number; logger?: Logger }): IngestStage {
  return async (msg, hooks) => {
    const result: IngestResult = await stage(msg, hooks);
    if (result.write.accepted.length > 0) {
      try {
        await writer.write(msg.id, result.write);
      } catch (err) {
        if (msg.deliveryAttempt < opts.maxAttempts) throw new Error(`writing the partial aggregates of message ${msg.id} failed`, { cause: err });
        opts.logger?.error({ message_id: msg.id, err: String(err) }, 'partial aggregates not written on the last attempt; the marts will count the message');
      }
    }
    return result;
  };
}
