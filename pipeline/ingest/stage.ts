// The ingest stage core (CONVENTIONS.md #1): one bus message in, one IngestWrite out. Validates
// every entry, claims the valid ones in the dedupe index, builds the rows of every end state and
// writes them through the RawSink. No I/O of its own beyond the ports it is given; transient
// failures of those ports propagate so the runner retries the whole message, which is safe
// because every write is idempotent and a redelivered entry's claim answers `same_entry`.
// With an IngestJournal (gcp, whose sink writes one table after another), each end-state part is
// written and then recorded, entries an earlier attempt stored are not written again, and
// settleFailedMessage rejects as processing_failed only the entries no attempt stored.
import type { Dimensions } from '../contracts/dimensions.js';
import type { EntryRef, ReasonCode } from '../contracts/outcomes.js';
import type {
  Clock,
  DedupeClaim,
  DedupeIndex,
  ArrivalRow,
  DedupeVerdict,
  DuplicateRow,
  InboundMessage,
  IngestJournal,
  IngestWrite,
  JournalRecord,
  RawSink,
  RejectedRow,
} from '../ports.js';
import { RowsRefusedError } from '../ports.js';
import { resolveIngestConfig, type IngestConfig, type ResolvedIngestConfig } from './config.js';
import { canonicalBodyJson, contentHash, normalizeEvent, utcHourStart } from './normalize.js';
import { readEnvelopeIds, validateEntry, type ValidEntry, type ValidationContext } from './validate.js';
import { errorDetail } from '../errors.js';
import { utcHourStartMs } from '../time.js';

export { DEFAULT_BOT_PATTERN, DEFAULT_INGEST_CONFIG, IngestConfigSchema, resolveIngestConfig } from './config.js';
export type { IngestConfig, ResolvedIngestConfig } from './config.js';

export interface IngestStageDeps {
  dimensions: () => Promise<Dimensions>;
  dedupe: DedupeIndex;
  sink: RawSink;
  clock: Clock;
  config?: Partial<IngestConfig>;
  /** Where each written part is recorded, for a sink that cannot write a message atomically. */
  journal?: IngestJournal;
}

/** Per-state counts of one message's entries, and the write that recorded them. */
export interface IngestResult {
  /** Entries in the message; always accepted + Σ rejected + duplicates. */
  entries: number;
  accepted: number;
  /** reason → count, zero counts omitted. */
  rejected: Partial<Record<ReasonCode, number>>;
  duplicates: number;
  write: IngestWrite;
}

/**
 * What a caller may learn from a stage before it resolves. `ordered` is called once the message's
 * dedupe claims are queued at the index (or the message has none to make): a runner may start later
 * messages from then on without letting them claim ahead of this one, so the copy received first wins.
 */
export interface StageHooks {
  ordered?: () => void;
}

export type IngestStage = (msg: InboundMessage, hooks?: StageHooks) => Promise<IngestResult>;


interface Claimed {
  index: number;
  valid: ValidEntry;
  canonicalBody: string;
  hash: string;
  /** Set on the first copy of a key in the message, once the index has answered. */
  verdict?: DedupeVerdict;
}

export function createIngestStage(deps: IngestStageDeps): IngestStage {
  const config = resolveIngestConfig(deps.config);

  return async function ingestStage(msg: InboundMessage, hooks?: StageHooks): Promise<IngestResult> {
    const journal = deps.journal ? await deps.journal.read(msg.id) : {};
    // The last attempt settled this message: its end states are final. A redelivery only finishes
    // that settlement (it may have stopped after recording it), writing the same rows again.
    if (journal.processing_failed) {
      hooks?.ordered?.(); // it claims nothing
      return settleFailedMessage(
        { sink: deps.sink, clock: deps.clock, journal: deps.journal, dedupe: deps.dedupe, dimensions: deps.dimensions, config: deps.config },
        msg,
        undefined,
      );
    }
    const dimensions = await deps.dimensions();
    const ctx: ValidationContext = { dimensions, attributes: msg.attributes, receivedAtMs: msg.receivedAt.getTime(), config };
    const n = msg.entries.length;
    const outcomes: Outcome[] = new Array(n);
    const now = () => deps.clock.now();

    // 1. Validate every entry; collect the valid ones, the first of each (merchant, event id) in this message to claim.
    // merchant → event id → first copy: two look-ups of strings the parser made, no joined key per entry.
    const firstOfKey = new Map<string, Map<string, Claimed>>();
    const claims: DedupeClaim[] = [];
    const claimed: Claimed[] = [];
    const laterCopies: Claimed[] = [];
    for (let i = 0; i < n; i++) {
      const v = validateEntry(msg.entries[i]!, ctx);
      if (!v.ok) {
        outcomes[i] = { kind: 'rejected', reason: v.reason, detail: v.detail, merchant_id: v.merchant_id, event_id: v.event_id, event_type: v.event_type };
        continue;
      }
      const canonicalBody = canonicalBodyJson(v.event);
      const c: Claimed = { index: i, valid: v, canonicalBody, hash: contentHash(v.event, canonicalBody), verdict: undefined };
      let ofMerchant = firstOfKey.get(v.event.merchant_id);
      if (!ofMerchant) firstOfKey.set(v.event.merchant_id, (ofMerchant = new Map()));
      if (ofMerchant.has(v.event.event_id)) {
        laterCopies.push(c);
        continue;
      }
      ofMerchant.set(v.event.event_id, c);
      claimed.push(c);
      claims.push({ merchantId: v.event.merchant_id, eventId: v.event.event_id, contentHash: c.hash, entry: { messageId: msg.id, index: i } });
    }

    // 2. One claim call for the message; once it is queued, later messages may go ahead.
    const claiming = claims.length > 0 ? deps.dedupe.claim(claims) : Promise.resolve([]);
    hooks?.ordered?.();
    const verdicts = await claiming;
    if (verdicts.length !== claims.length) {
      throw new Error(`dedupe index answered ${verdicts.length} verdicts for ${claims.length} claims of message ${msg.id}`);
    }
    // What the index answered, by entry: the journal keeps it so the rows can be built again without claiming.
    const answered: Record<number, DedupeVerdict> = {};
    for (let k = 0; k < claimed.length; k++) {
      const c = claimed[k]!;
      c.verdict = verdicts[k]!;
      answered[c.index] = c.verdict;
      outcomes[c.index] = fromVerdict(c, c.verdict, msg);
    }
    throwIfPending(verdicts, msg);

    // 3. Later copies of a key within this message: decided against the copy that owns the event.
    //    Only when the owner is another message's entry whose content differs from ours and from this
    //    message's first copy is its content unknown here; those few are asked of the index again
    //    (the event is owned already, so such a claim cannot take it).
    const unknown: Claimed[] = [];
    for (const c of laterCopies) {
      const first = firstOfKey.get(c.valid.event.merchant_id)!.get(c.valid.event.event_id)!;
      const verdict = first.verdict!;
      if (verdict.kind === 'new' || verdict.kind === 'same_entry') {
        outcomes[c.index] = againstOwner(c, c.hash === first.hash, { messageId: msg.id, index: first.index }, msg);
      } else if (verdict.kind === 'duplicate' || c.hash === first.hash) {
        // A duplicate's content equals the owner's; a conflicting first copy with our content conflicts as we do.
        outcomes[c.index] = againstOwner(c, verdict.kind === 'duplicate' && c.hash === first.hash, verdict.first, msg);
      } else {
        unknown.push(c);
      }
    }
    if (unknown.length > 0) {
      const again = await deps.dedupe.claim(
        unknown.map((c) => ({ merchantId: c.valid.event.merchant_id, eventId: c.valid.event.event_id, contentHash: c.hash, entry: { messageId: msg.id, index: c.index } })),
      );
      if (again.length !== unknown.length) {
        throw new Error(`dedupe index answered ${again.length} verdicts for ${unknown.length} claims of message ${msg.id}`);
      }
      throwIfPending(again, msg);
      unknown.forEach((c, k) => {
        answered[c.index] = again[k]!;
        outcomes[c.index] = fromVerdict(c, again[k]!, msg);
      });
    }

    // 4. Build the write.
    const write: IngestWrite = { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [] };
    const result: IngestResult = { entries: n, accepted: 0, rejected: {}, duplicates: 0, write };
    const arrivalHours = new Map<string, Map<number, ArrivalRow>>();
    let rejectedAt: Date | undefined;
    for (let i = 0; i < n; i++) {
      const o = outcomes[i]!;
      if (o.kind === 'accepted') {
        const { row, orderLines } = normalizeEvent(o.valid.event, {
          dimensions,
          messageId: msg.id,
          entryIndex: i,
          receivedAt: msg.receivedAt,
          eventTsMs: o.valid.eventTsMs,
          canonicalBody: o.canonicalBody,
          merchant: o.valid.merchant,
          store: o.valid.store,
        });
        write.accepted.push(row);
        for (const line of orderLines) write.orderLines.push(line);
        // One arrival row per (merchant, hour): hours as numbers under the merchant, no key string per event.
        const ms = o.valid.eventTsMs;
        const hourMs = utcHourStartMs(ms);
        let hours = arrivalHours.get(row.merchant_id);
        if (!hours) arrivalHours.set(row.merchant_id, (hours = new Map()));
        const arrival = hours.get(hourMs);
        if (!arrival) {
          const added: ArrivalRow = { message_id: msg.id, merchant_id: row.merchant_id, event_hour: utcHourStart(ms), received_at: msg.receivedAt, last_event_at: new Date(ms) };
          hours.set(hourMs, added);
          write.arrivals.push(added);
        } else if (arrival.last_event_at!.getTime() < ms) arrival.last_event_at = new Date(ms);
        result.accepted++;
      } else if (o.kind === 'duplicate') {
        write.duplicates.push(o.row);
        result.duplicates++;
      } else {
        rejectedAt ??= now();
        write.rejected.push(rejectedRow(msg, i, o, rejectedAt, config));
        result.rejected[o.reason] = (result.rejected[o.reason] ?? 0) + 1;
      }
    }

    if (deps.journal) await writeInParts(deps.sink, deps.journal, deps.dedupe, msg.id, write, journal, answered);
    else {
      await deps.sink.write(write);
      await confirmOwners(deps.dedupe, msg.id, write);
    }
    return result;
  };
}

/** The owner of an event this message copies has not stored it yet: retry the message later. */
function throwIfPending(verdicts: DedupeVerdict[], msg: InboundMessage): void {
  const pending = verdicts.find((v) => v.kind === 'pending');
  if (pending) {
    throw new Error(
      `an event of message ${msg.id} is claimed by message ${pending.first.messageId}, entry ${pending.first.index}, which has not stored it yet; retrying`,
    );
  }
}

function refused(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof RowsRefusedError) return true;
  return false;
}

/** Tells the dedupe index that this message's accepted entries, the owners of their events, are stored. */
async function confirmOwners(dedupe: DedupeIndex, messageId: string, write: IngestWrite): Promise<void> {
  if (!dedupe.confirm || write.accepted.length === 0) return;
  await dedupe.confirm(write.accepted.map((r) => ({ merchantId: r.merchant_id, eventId: r.event_id, entry: { messageId, index: r.entry_index } })));
}

/** Entry indexes some attempt of the message stored, in any end state. */
function storedEntries(j: JournalRecord): Set<number> {
  return new Set([...(j.accepted ?? []), ...Object.keys(j.rejected ?? {}).map(Number), ...(j.duplicates ?? []), ...(j.processing_failed ?? [])]);
}

/**
 * Writes the message's parts one after another, each followed by its journal record, skipping
 * entries an earlier attempt stored. Accepted rows go first, with their order lines and arrivals
 * in the same sink call (a stored raw.events row implies both), so an owner's claim is
 * confirmed as early as possible for the copies that wait on it.
 */
async function writeInParts(
  sink: RawSink,
  journal: IngestJournal,
  dedupe: DedupeIndex,
  messageId: string,
  write: IngestWrite,
  before: JournalRecord,
  verdicts: Record<number, DedupeVerdict>,
): Promise<void> {
  const todo = unstored(write, storedEntries(before));
  // Before any row: the index's answers, from which the settlement can build the same rows again.
  if (!before.verdicts && todo.accepted.length + todo.rejected.length + todo.duplicates.length > 0) await journal.record(messageId, { verdicts });
  if (todo.accepted.length > 0) {
    await sink.write({ ...EMPTY_WRITE, accepted: todo.accepted, orderLines: todo.orderLines, arrivals: todo.arrivals });
    await journal.record(messageId, { accepted: todo.accepted.map((r) => r.entry_index) });
  }
  // Every attempt confirms (an earlier one may have stored the rows and failed before confirming).
  await confirmOwners(dedupe, messageId, write);
  if (todo.rejected.length > 0) {
    await sink.write({ ...EMPTY_WRITE, rejected: todo.rejected });
    await journal.record(messageId, { rejected: Object.fromEntries(todo.rejected.map((r) => [r.entry_index, r.reason])) });
  }
  if (todo.duplicates.length > 0) {
    await sink.write({ ...EMPTY_WRITE, duplicates: todo.duplicates });
    await journal.record(messageId, { duplicates: todo.duplicates.map((r) => r.entry_index) });
  }
}

const EMPTY_WRITE: IngestWrite = { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [] };

/** The part of a write whose entries are not stored yet: their rows, the accepted ones' order lines, and the arrivals. */
function unstored(write: IngestWrite, stored: ReadonlySet<number>): IngestWrite {
  const accepted = write.accepted.filter((r) => !stored.has(r.entry_index));
  const events = new Set(accepted.map((r) => `${r.merchant_id}\u0000${r.event_id}`));
  return {
    accepted,
    orderLines: write.orderLines.filter((l) => events.has(`${String(l.merchant_id)}\u0000${String(l.event_id)}`)),
    rejected: write.rejected.filter((r) => !stored.has(r.entry_index)),
    duplicates: write.duplicates.filter((r) => !stored.has(r.entry_index)),
    arrivals: accepted.length > 0 ? write.arrivals : [],
  };
}

/** A message's counts as its journal records them (the write is empty: nothing is written again). */
function resultOf(entries: number, j: JournalRecord): IngestResult {
  const rejected: Partial<Record<ReasonCode, number>> = {};
  for (const reason of Object.values(j.rejected ?? {})) rejected[reason] = (rejected[reason] ?? 0) + 1;
  const failed = j.processing_failed?.length ?? 0;
  if (failed > 0) rejected.processing_failed = (rejected.processing_failed ?? 0) + failed;
  return {
    entries,
    accepted: j.accepted?.length ?? 0,
    rejected,
    duplicates: j.duplicates?.length ?? 0,
    write: { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [] },
  };
}

// ---------------------------------------------------------------- outcomes of entries

type Outcome =
  | { kind: 'accepted'; valid: ValidEntry; canonicalBody: string }
  | { kind: 'duplicate'; row: DuplicateRow }
  | { kind: 'rejected'; reason: ReasonCode; detail: string; merchant_id: string | null; event_id: string | null; event_type: string | null };

function fromVerdict(c: Claimed, verdict: DedupeVerdict, msg: InboundMessage): Outcome {
  switch (verdict.kind) {
    case 'new':
    case 'same_entry':
      return { kind: 'accepted', valid: c.valid, canonicalBody: c.canonicalBody };
    case 'duplicate':
      return againstOwner(c, true, verdict.first, msg);
    case 'conflict':
      return againstOwner(c, false, verdict.first, msg);
    case 'pending':
      throw new Error(`the claim of entry ${c.index} of message ${msg.id} waits for its owner`);
  }
}

/** The outcome of a copy of an event another entry owns: an exact duplicate, or a conflicting one. */
function againstOwner(c: Claimed, sameContent: boolean, first: EntryRef, msg: InboundMessage): Outcome {
  const e = c.valid.event;
  if (sameContent) {
    return {
      kind: 'duplicate',
      row: {
        message_id: msg.id,
        entry_index: c.index,
        merchant_id: e.merchant_id,
        event_id: e.event_id,
        first_message_id: first.messageId,
        first_entry_index: first.index,
        received_at: msg.receivedAt,
      },
    };
  }
  return {
    kind: 'rejected',
    reason: 'conflicting_duplicate',
    detail: `event ${e.event_id} of merchant ${e.merchant_id} was first received with different content in message ${first.messageId}, entry ${first.index}`,
    merchant_id: e.merchant_id,
    event_id: e.event_id,
    event_type: e.event_type,
  };
}

function rejectedRow(
  msg: InboundMessage,
  index: number,
  o: Extract<Outcome, { kind: 'rejected' }>,
  rejectedAt: Date,
  config: ResolvedIngestConfig,
): RejectedRow {
  const text = msg.entries[index]!;
  // An oversize entry is kept only up to the event size limit (rows have size limits too); the archive keeps it whole.
  const keep = config.maxEventBytes;
  return {
    message_id: msg.id,
    entry_index: index,
    reason: o.reason,
    detail: o.detail,
    merchant_id: o.merchant_id,
    event_id: o.event_id,
    event_type: o.event_type,
    source: msg.attributes.source,
    payload: text.length > keep ? text.slice(0, keep) : text,
    received_at: msg.receivedAt,
    rejected_at: rejectedAt,
  };
}

/**
 * The write for a message that still fails after the runner's last attempt: every entry rejected
 * as `processing_failed`, the error in the detail. It claims nothing in the dedupe index, so a
 * later re-validation can still accept the entries.
 */
export function processingFailedWrite(
  msg: InboundMessage,
  error: unknown,
  now: Date,
  config?: Partial<IngestConfig>,
  /** Entries already stored in an end state, left as they are. */
  stored: ReadonlySet<number> = new Set(),
  /** The rows' detail when an earlier settlement fixed it. */
  fixedDetail?: string,
): IngestWrite {
  const resolved = resolveIngestConfig(config);
  const detail = fixedDetail ?? `failed after ${msg.deliveryAttempt} delivery attempts: ${errorDetail(error)}`;
  const rejected: RejectedRow[] = [];
  msg.entries.forEach((text, i) => {
    if (!stored.has(i)) rejected.push(rejectedRow(msg, i, { kind: 'rejected', reason: 'processing_failed', detail, ...readEnvelopeIds(text) }, now, resolved));
  });
  return { accepted: [], orderLines: [], rejected, duplicates: [], arrivals: [] };
}

export interface SettleDeps {
  sink: RawSink;
  clock: Clock;
  journal?: IngestJournal;
  dedupe?: DedupeIndex;
  /** With a journal: to build again the rows of entries an attempt may have stored. */
  dimensions?: () => Promise<Dimensions>;
  config?: Partial<IngestConfig>;
}

/**
 * The last attempt's failure path when the sink is not atomic per message (gcp). Every entry some
 * attempt stored keeps its end state; the others are rejected as processing_failed, recorded in the
 * journal first (so a late redelivery writes nothing), and give back any claim they hold in the
 * dedupe index, so that a client's resend of the event is accepted rather than a duplicate of an
 * event that was never stored. Idempotent: running it again writes the same rows.
 */
export async function settleFailedMessage(deps: SettleDeps, msg: InboundMessage, error: unknown): Promise<IngestResult> {
  let before = deps.journal ? await deps.journal.read(msg.id) : {};
  if (deps.journal && before.verdicts && !before.processing_failed && storedEntries(before).size < msg.entries.length) {
    // An attempt started writing, and some of its rows are not recorded as stored: they may be
    // (a write whose answer was lost). Build them again from the entries and the index's recorded
    // answers, without claiming, and write them again (idempotent), so that no stored entry is also
    // rejected. If this fails with an unknown outcome, so does the settlement, and the message stays
    // with the subscription; rows the sink refuses were never stored and become processing_failed.
    if (!deps.dimensions) throw new Error(`settling message ${msg.id} needs the dimensions to build its planned rows again`);
    const recorded = before.verdicts;
    let rebuilt: IngestWrite = EMPTY_WRITE;
    await createIngestStage({
      dimensions: deps.dimensions,
      dedupe: {
        claim: async (cs) =>
          cs.map((c) => {
            const v = recorded[c.entry.index];
            if (!v) throw new Error(`no recorded dedupe answer for entry ${c.entry.index} of message ${msg.id}`);
            return v;
          }),
      },
      sink: { write: async (w) => void (rebuilt = w) },
      clock: deps.clock,
      config: deps.config,
    })(msg);
    const salvage = unstored(rebuilt, storedEntries(before));
    const parts: [IngestWrite, JournalRecord][] = [
      [{ ...EMPTY_WRITE, accepted: salvage.accepted, orderLines: salvage.orderLines, arrivals: salvage.arrivals }, { accepted: salvage.accepted.map((r) => r.entry_index) }],
      [{ ...EMPTY_WRITE, rejected: salvage.rejected }, { rejected: Object.fromEntries(salvage.rejected.map((r) => [r.entry_index, r.reason])) }],
      [{ ...EMPTY_WRITE, duplicates: salvage.duplicates }, { duplicates: salvage.duplicates.map((r) => r.entry_index) }],
    ];
    let salvaged = false;
    for (const [part, record] of parts) {
      if (part.accepted.length + part.rejected.length + part.duplicates.length === 0) continue;
      try {
        await deps.sink.write(part);
      } catch (err) {
        if (refused(err)) continue;
        throw err;
      }
      await deps.journal.record(msg.id, record);
      if (deps.dedupe) await confirmOwners(deps.dedupe, msg.id, part);
      salvaged = true;
    }
    if (salvaged) before = await deps.journal.read(msg.id);
  }
  const failed = new Set(before.processing_failed ?? []);
  const kept = new Set([...storedEntries(before)].filter((i) => !failed.has(i)));
  const write = processingFailedWrite(msg, error, deps.clock.now(), deps.config, kept, before.failure);
  const giveUp = write.rejected.map((r) => r.entry_index);
  if (deps.journal && !before.processing_failed) {
    await deps.journal.record(msg.id, { processing_failed: giveUp, failure: write.rejected[0]?.detail ?? undefined });
  }
  if (deps.dedupe?.release) {
    const claims = write.rejected
      .filter((r) => r.merchant_id !== null && r.event_id !== null)
      .map((r) => ({ merchantId: r.merchant_id!, eventId: r.event_id!, entry: { messageId: msg.id, index: r.entry_index } }));
    // Only a claim this very entry holds is removed (the index checks the owner).
    if (claims.length > 0) await deps.dedupe.release(claims);
  }
  if (write.rejected.length > 0) await deps.sink.write(write);
  return { ...resultOf(msg.entries.length, { ...before, processing_failed: giveUp }), write };
}
