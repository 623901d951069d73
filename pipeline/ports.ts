// Ports: the small interfaces the stages depend on. adapters/local and adapters/gcp implement them;
// entry points (functions/, cli/) only wire adapters to stages.
import type { Dimensions, DimensionsFile } from './contracts/dimensions.js';
import type { EntryRef, ReasonCode } from './contracts/outcomes.js';
import type { SourceName } from './contracts/events.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

// ---------------------------------------------------------------- bus

/** Attributes every bus message carries (Pub/Sub attributes in GCP). */
export interface MessageAttributes {
  source: SourceName;
  /** Merchant of the ingest/browser key that sent the batch; absent for trusted POS files. */
  key_merchant_id?: string;
  /** User-Agent of the HTTP request, for the bot rule. */
  user_agent?: string;
  /** `1` for `tillstream ingest --backfill`: any event age is accepted. */
  backfill?: '1';
  /** Local runtime: the `tillstream start`/`ingest` run that published it, for per-run summaries. */
  run_id?: string;
}

/** A message as the ingest stage sees it: a batch of raw entry texts. */
export interface InboundMessage {
  /** Stable across redeliveries (Pub/Sub messageId; local bus sequence id). */
  id: string;
  receivedAt: Date;
  attributes: MessageAttributes;
  /** Each entry's original text: one element of a JSON array body, one NDJSON line, one POS order. */
  entries: string[];
  /** 1 on first delivery. */
  deliveryAttempt: number;
}

export interface Publisher {
  /** Durably enqueues the messages and returns their ids; resolves only once they cannot be lost. */
  publish(messages: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[]): Promise<string[]>;
}

// ---------------------------------------------------------------- ingest outcomes

export interface RejectedRow {
  message_id: string;
  entry_index: number;
  reason: ReasonCode;
  detail: string | null;
  merchant_id: string | null;
  event_id: string | null;
  event_type: string | null;
  source: SourceName;
  payload: string;
  received_at: Date;
  rejected_at: Date;
}

export interface DuplicateRow {
  message_id: string;
  entry_index: number;
  merchant_id: string;
  event_id: string;
  first_message_id: string;
  first_entry_index: number;
  received_at: Date;
}

/** Row of raw.events (see pipeline/schema/raw.ts); timestamps as Date, REPEATED as arrays. */
export type RawEventRow = Record<string, string | number | Date | string[] | null> & {
  event_id: string;
  merchant_id: string;
  event_type: string;
  event_ts: Date;
  received_at: Date;
  message_id: string;
  entry_index: number;
};
export type OrderLineRow = Record<string, string | number | Date | null>;

export interface ArrivalRow {
  message_id: string;
  merchant_id: string;
  event_hour: Date;
  received_at: Date;
  /** Newest event_ts of the message's events of that merchant and hour (the freshness document's newest_event_at). */
  last_event_at?: Date | null;
}

/** Everything one message's processing writes. Writing it twice (a redelivery) must change nothing. */
export interface IngestWrite {
  accepted: RawEventRow[];
  orderLines: OrderLineRow[];
  rejected: RejectedRow[];
  duplicates: DuplicateRow[];
  arrivals: ArrivalRow[];
}

export interface RawSink {
  /** Idempotent by (merchant_id, event_id) for accepted rows and (message_id, entry_index) for the rest. */
  write(batch: IngestWrite): Promise<void>;
}

/**
 * A sink's answer that it stored none of a write's rows because it refuses them (a row the table
 * will never take), as opposed to a failure whose outcome is unknown. Retrying cannot help.
 */
export class RowsRefusedError extends Error {
  override readonly name = 'RowsRefusedError';
}

/**
 * A publisher's answer that an entry, as its bus carries it, is larger than the bus takes in one
 * message: nothing of the publish call was sent. Retrying cannot help; the sender is told at once.
 */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError';
}

// ---------------------------------------------------------------- dedupe

export interface DedupeClaim {
  merchantId: string;
  eventId: string;
  /** Hash of the event's canonical content; equal hashes mean an exact duplicate. */
  contentHash: string;
  entry: EntryRef;
}

/**
 * - `new`: this entry is the first copy; it owns the event.
 * - `same_entry`: this very entry claimed it before (a redelivery): write its row again, idempotently.
 * - `duplicate`: another entry with the same content owns it.
 * - `conflict`: another entry with different content owns it (`conflicting_duplicate`).
 */
export type DedupeVerdict =
  | { kind: 'new' }
  | { kind: 'same_entry' }
  | { kind: 'duplicate'; first: EntryRef }
  | { kind: 'conflict'; first: EntryRef }
  /**
   * Another entry claimed the event but has not stored it yet (its message is still in flight, or
   * failed and is about to give the claim back). Neither a duplicate nor new: the stage fails the
   * message so that it is retried once the owner has stored or released the event.
   */
  | { kind: 'pending'; first: EntryRef };

export interface DedupeIndex {
  /** Exact: claims atomically per (merchantId, eventId); in GCP a Bigtable CheckAndMutateRow per key. */
  claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]>;
  /** Revalidation: release the claims of entries that no longer pass, so their rows can move. */
  release?(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void>;
  /**
   * The owners' raw rows are stored. An index that has it answers `pending`, not `duplicate` or
   * `conflict`, to other copies of an event whose owner has not confirmed yet: a claim whose
   * owner failed must not make a later resend a duplicate of an event never stored. Only the
   * current owner's confirmation counts; confirming again changes nothing.
   */
  confirm?(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void>;
}

// ---------------------------------------------------------------- ingest journal

/** The end-state tables one message's entries go to, each written (and recorded) as a unit. */
export type JournalPart = 'accepted' | 'rejected' | 'duplicates' | 'processing_failed';

/**
 * What a message's earlier delivery attempts durably stored: for each part written, the entry
 * indexes it holds (rejected ones with their reasons). Empty for a message never written.
 */
export interface JournalRecord {
  accepted?: number[];
  rejected?: Record<number, ReasonCode>;
  duplicates?: number[];
  /** Entries the last attempt gave up on; once set, the message's end states are final. */
  processing_failed?: number[];
  /** The detail of those processing_failed rows, so that whoever finishes the settlement writes the same rows. */
  failure?: string;
  /**
   * What the dedupe index answered for the entries it was asked about, recorded before the first
   * row is written. With the message and the dimensions it builds the same rows again, so the last
   * attempt can write again rows whose earlier write may have been stored with its answer lost.
   */
  verdicts?: Record<number, DedupeVerdict>;
}

/**
 * For a runtime whose RawSink cannot write a message's tables in one transaction (gcp: one
 * insert per table): the stage records each part right after its rows are stored, so that the
 * last attempt can reject as processing_failed exactly the entries no attempt stored, and the
 * dedupe index can tell a stored owner from one still in flight. Records only grow.
 */
export interface IngestJournal {
  read(messageId: string): Promise<JournalRecord>;
  /** Records that the part's rows (given by entry index) are stored; re-recording is harmless. */
  record(messageId: string, part: JournalRecord): Promise<void>;
}

// ---------------------------------------------------------------- archive

/** Original payloads of every message, append-only, for re-validation. */
export interface ArchiveWriter {
  append(message: InboundMessage): Promise<void>;
}
export interface ArchiveReader {
  /** Messages whose receivedAt lies in [from, to), in receive order (within an archive object, where the archive has objects). */
  read(range: { from: Date; to: Date }): AsyncIterable<InboundMessage>;
  /**
   * The same messages a shard (an archive object) at a time, shards in name order, starting after
   * the shard named `after`: what a batch job checkpoints to resume after a crash. Optional.
   */
  readShards?(range: { from: Date; to: Date }, opts?: { after?: string }): AsyncIterable<{ shard: string; messages: InboundMessage[] }>;
}

/** Where a re-validation records the last shard it finished, so a restarted run resumes after it. */
export interface ShardCheckpoint {
  load(): Promise<string | undefined>;
  save(shard: string): Promise<void>;
}

// ---------------------------------------------------------------- dimensions and keys

export interface DimensionsStore {
  load(file: DimensionsFile): Promise<void>;
  get(): Promise<Dimensions>;
}

export const KEY_KINDS = ['ingest', 'read', 'manage', 'browser', 'admin'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export interface KeyRecord {
  id: string;
  kind: KeyKind;
  merchant_id: string | null;
  origins: string[];
  /** HMAC-SHA256(pepper, key) as hex; the key itself is never stored. */
  hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface KeyStore {
  put(record: KeyRecord): Promise<void>;
  findByHash(hash: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  revoke(id: string, at: Date): Promise<boolean>;
}

// ---------------------------------------------------------------- warehouse (marts)

export type SqlParams = Record<string, string | number | boolean | Date | null | string[]>;

export interface Warehouse {
  /** Runs one statement of BigQuery SQL from sql/ (the local adapter translates the dialect). */
  run(sql: string, params?: SqlParams): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]>;
  /**
   * Runs a query and hands its rows to `onPage` a page at a time, in order, awaiting each: a caller
   * that writes each page away holds one page, not the result (the exporter). Optional; without it,
   * callers take `query`'s rows as one page. `onPage` must not call the warehouse: the local one
   * holds its single connection until the last page.
   */
  queryPages?<T = Record<string, unknown>>(sql: string, params: SqlParams | undefined, onPage: (rows: T[]) => Promise<void>): Promise<void>;
}

// ---------------------------------------------------------------- series store

export type CellValue = number | null;
export const FAMILY_MART = 'm';
export const FAMILY_PARTIAL = 'p';
/** Alert claims and the alert merchant index (pipeline/alerts/store.ts); never read as series points. */
export const FAMILY_ALERTS = 'a';

export interface SeriesRow {
  key: string;
  /** family → qualifier → value */
  cells: Record<string, Record<string, CellValue>>;
}

export type SeriesMutation =
  | { kind: 'set'; key: string; family: string; cells: Record<string, CellValue> }
  /** Removes a whole family of a row (retire partials, replace a mart bucket). */
  | { kind: 'delete_family'; key: string; family: string }
  /** Removes named cells of a family (the speed layer folding message cells into a compacted one). */
  | { kind: 'delete_cells'; key: string; family: string; qualifiers: string[] }
  | { kind: 'delete_row'; key: string };

/** A test of one cell of a row: it holds when the cell's value equals `equals`, or, with `equals` undefined, when the cell is absent. */
export interface CellCondition {
  family: string;
  qualifier: string;
  equals?: number;
}

/** Mutations of one row (all with `key`) applied only if the condition holds, atomically with the test (Bigtable CheckAndMutateRow). */
export interface ConditionalMutation {
  key: string;
  condition: CellCondition;
  mutations: SeriesMutation[];
}

/** One counter cell to add to (SeriesStore.increment). */
export interface CounterIncrement {
  key: string;
  family: string;
  qualifier: string;
  by: number;
}

export interface SeriesStore {
  /** Applies mutations; each row's mutations are atomic. Re-applying changes nothing. */
  mutate(mutations: SeriesMutation[]): Promise<void>;
  /** Rows with start ≤ key < end, in key order: one contiguous range read; at most `limit` rows (the first ones) when given. */
  readRange(range: { start: string; end: string }, opts?: { limit?: number }): Promise<SeriesRow[]>;
  /**
   * The rows of a range and some documents, together in one read (one ReadRows on Bigtable, whose row set
   * takes keys and ranges at once), so a query API request costs one round trip. An empty range
   * (start ≥ end) reads the documents alone; a missing document is absent from the map.
   */
  readRangeWithDocuments(range: { start: string; end: string }, documentKeys: readonly string[]): Promise<{ rows: SeriesRow[]; documents: Map<string, unknown> }>;
  /**
   * Applies each entry's mutations only if its condition holds, atomically per row; answers which were
   * applied. Optional (the speed layer needs it); entries of different rows are independent.
   */
  checkAndMutate?(entries: ConditionalMutation[]): Promise<boolean[]>;
  /**
   * Adds `by` to each entry's integer counter cell, atomically in its row, and answers the new values
   * (Bigtable ReadModifyWriteRow, one per entry). Optional (the speed layer's per-row compaction
   * trigger). Counter cells are internal: qualifiers start with '!', and range reads of the Bigtable
   * store leave them out.
   */
  increment?(entries: CounterIncrement[]): Promise<number[]>;
  /**
   * True when the store keeps each ranked row's twin (series/ranked.ts) itself: every write or delete of a
   * ranked row stores the row's new bytes under its twin key in the same transaction. Writers then send
   * no twin mutations (rankedTwinToWrite). The local LMDB store mirrors; Bigtable keeps twins as rows of
   * their own, since its conditional writes and counters are single-row.
   */
  readonly mirrorsRankedTwins?: boolean;
  /** Small JSON documents mirrored for the API (stores list, freshness, key records). */
  getDocument<T>(key: string): Promise<T | undefined>;
  putDocument(key: string, value: unknown): Promise<void>;
}

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}
