// The durable local bus, on LMDB (<dataDir>/bus.mdb): the local stand-in for the Pub/Sub topics and
// subscription. At-least-once, like Pub/Sub:
// - publish commits the messages, their log records and the published-entry counters (total and per
//   run) in ONE LMDB transaction, synced to disk before it resolves (overlappingSync is off, so the
//   commit itself fsyncs: an acknowledged publish survives SIGKILL and power loss);
// - after the commit, publish appends the payloads to the archive (fsync) and only then resolves
//   and lets the messages be delivered. A crash in between is repaired on open: messages past the
//   recorded archive watermark are appended again (readers skip ids written twice). So nothing
//   published is ever missing from the archive, and nothing is delivered before it is archived;
// - receive leases messages and durably increments their delivery attempt before handing them out;
//   ack deletes a message, nack makes it available again (optionally after a delay); leases live in
//   memory, so after a restart every unacked message is delivered again.
// The message log (id → run, entry count, received_at, source) outlives the ack, for per-run counts.
import { open, type Database, type RootDatabase } from 'lmdb';
import { lmdbMapOptions } from './lmdb-map.js';
import type { Clock, InboundMessage, MessageAttributes, Publisher } from '../../pipeline/ports.js';
import type { LocalArchive } from './archive.js';

interface StoredMessage {
  r: number; // receivedAt, ms since epoch
  a: MessageAttributes;
  e: string[];
}

export interface MessageLogRecord {
  id: string;
  run_id: string | null;
  entries: number;
  received_at: string;
  source: string;
}

type LogValue = Omit<MessageLogRecord, 'id'>;

export interface LocalBusOptions {
  /** LMDB environment file, e.g. <dataDir>/bus.mdb. */
  path: string;
  archive: LocalArchive;
  /**
   * Accepted for symmetry with the other adapters but not used: retry delays run in real time, so a
   * fixed business clock (tests, --anchor runs) cannot hold a nacked message back forever.
   */
  clock?: Clock;
  /** Milliseconds of a real-time clock for retry delays; default Date.now (injectable for tests). */
  timer?: () => number;
}

const ID_WIDTH = 12;
export const messageIdOf = (seq: number): string => String(seq).padStart(ID_WIDTH, '0');
function seqOf(id: string): number {
  const n = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(n)) throw new Error(`not a local bus message id: ${id}`);
  return n;
}

const TOTAL = 'published';
const ARCHIVED_THROUGH = 'archived_through';

export class LocalBus implements Publisher {
  private nextSeq: number;
  /** Highest seq that is committed and archived: only these may be delivered. */
  private deliverableThrough: number;
  private readonly leased = new Set<number>();
  private readonly notBefore = new Map<number, number>();
  /** Every archive append in flight (close waits for them). */
  private archiveTail: Promise<unknown> = Promise.resolve();
  /** The last publish whose archive append was issued: the next one is issued after it. */
  private archiveOrder: Promise<unknown> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private broken: Error | undefined;
  private closed = false;

  private constructor(
    private readonly root: RootDatabase,
    private readonly messages: Database<StoredMessage, number>,
    private readonly attempts: Database<number, number>,
    private readonly log: Database<LogValue, number>,
    private readonly runs: Database<number, [string, number]>,
    private readonly meta: Database<number, string | [string, string]>,
    private readonly archive: LocalArchive,
    private readonly timer: () => number,
  ) {
    const last = [...log.getKeys({ reverse: true, limit: 1 })][0];
    this.nextSeq = (last ?? 0) + 1;
    this.deliverableThrough = this.nextSeq - 1;
  }

  static async open(opts: LocalBusOptions): Promise<LocalBus> {
    let root: RootDatabase;
    try {
      root = open({ path: opts.path, overlappingSync: false, maxDbs: 8, ...lmdbMapOptions() });
    } catch (err) {
      throw new Error(`opening the local bus ${opts.path}`, { cause: err });
    }
    const bus = new LocalBus(
      root,
      root.openDB<StoredMessage, number>('messages', {}),
      root.openDB<number, number>('attempts', {}),
      root.openDB<LogValue, number>('log', {}),
      root.openDB<number, [string, number]>('runs', {}),
      root.openDB<number, string | [string, string]>('meta', {}),
      opts.archive,
      opts.timer ?? Date.now,
    );
    await bus.recoverArchive();
    return bus;
  }

  /** Re-archives messages committed after the last recorded archive append (a crash in between). */
  private async recoverArchive(): Promise<void> {
    const through = this.meta.get(ARCHIVED_THROUGH) ?? 0;
    const missing: InboundMessage[] = [];
    for (const { key, value } of this.messages.getRange({ start: through + 1 })) missing.push(this.toInbound(key, value, 1));
    if (missing.length > 0) await this.archive.appendMany(missing);
    if (this.deliverableThrough > through) await this.meta.put(ARCHIVED_THROUGH, this.deliverableThrough);
  }

  // ---------------------------------------------------------------- publishing

  async publish(messages: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[]): Promise<string[]> {
    this.assertUsable();
    if (messages.length === 0) return [];
    const seqs = messages.map(() => this.nextSeq++);
    const committed = this.root.transaction(() => {
      const perRun = new Map<string, number>();
      let total = 0;
      messages.forEach((m, i) => {
        const seq = seqs[i]!;
        const runId = m.attributes.run_id ?? null;
        this.messages.putSync(seq, { r: m.receivedAt.getTime(), a: m.attributes, e: m.entries });
        this.log.putSync(seq, { run_id: runId, entries: m.entries.length, received_at: m.receivedAt.toISOString(), source: m.attributes.source });
        if (runId !== null) {
          this.runs.putSync([runId, seq], m.entries.length);
          perRun.set(runId, (perRun.get(runId) ?? 0) + m.entries.length);
        }
        total += m.entries.length;
      });
      this.meta.putSync(TOTAL, (this.meta.get(TOTAL) ?? 0) + total);
      for (const [runId, n] of perRun) this.meta.putSync([TOTAL, runId], (this.meta.get([TOTAL, runId]) ?? 0) + n);
    });
    const ids = seqs.map(messageIdOf);
    // Archive appends are issued in seq order, each after its own commit, so the archive's lines stay
    // in id order; they are not awaited one by one, so appends of concurrent publishes share a sync
    // (the archive writes in call order and resolves in that order).
    let appended: Promise<void> = Promise.resolve();
    const issued = this.archiveOrder.then(() => committed).then(() => {
      appended = this.archive.appendMany(messages.map((m, i) => ({ ...m, id: ids[i]! })));
    });
    this.archiveOrder = issued.catch(() => undefined);
    const archived = issued.then(async () => {
      try {
        await appended;
      } catch (err) {
        // Committed but not archived: stop here; reopening the bus re-archives before delivering.
        this.broken = new Error('archiving published messages failed; reopen the bus to recover', { cause: err });
        throw this.broken;
      }
      const last = seqs[seqs.length - 1]!;
      this.deliverableThrough = Math.max(this.deliverableThrough, last);
      void this.meta.put(ARCHIVED_THROUGH, this.deliverableThrough);
      this.wake();
    });
    this.archiveTail = Promise.all([this.archiveTail, archived.catch(() => undefined)]);
    await archived;
    return ids;
  }

  /** Entries published so far: all of them, or one run's. */
  publishedEntries(opts: { runId?: string } = {}): number {
    return (opts.runId === undefined ? this.meta.get(TOTAL) : this.meta.get([TOTAL, opts.runId])) ?? 0;
  }

  /** Ids of the messages a run published, in publish order. */
  runMessageIds(runId: string): string[] {
    return [...this.runs.getKeys({ start: [runId, 0], end: [runId, Number.MAX_SAFE_INTEGER] })].map(([, seq]) => messageIdOf(seq));
  }

  messageLog(id: string): MessageLogRecord | undefined {
    const v = this.log.get(seqOf(id));
    return v && { id, ...v };
  }

  // ---------------------------------------------------------------- consuming

  /**
   * Leases up to `max` available messages, oldest first, and stops before a message that would take
   * the batch past `maxEntries` entries (the first message is always taken). Each one's delivery
   * attempt is incremented and committed before it is returned, so attempts count across crashes.
   */
  async receive(max = 16, maxEntries = Infinity): Promise<InboundMessage[]> {
    this.assertUsable();
    const now = this.timer();
    const picked: number[] = [];
    const stored: StoredMessage[] = [];
    let entries = 0;
    for (const seq of this.messages.getKeys({})) {
      if (picked.length >= max || seq > this.deliverableThrough) break;
      if (this.leased.has(seq)) continue;
      const nb = this.notBefore.get(seq);
      if (nb !== undefined && nb > now) continue;
      const value = this.messages.get(seq)!;
      if (picked.length > 0 && entries + value.e.length > maxEntries) break;
      picked.push(seq);
      stored.push(value);
      entries += value.e.length;
    }
    if (picked.length === 0) return [];
    for (const seq of picked) {
      this.leased.add(seq);
      this.notBefore.delete(seq);
    }
    let counts: number[];
    try {
      counts = await this.root.transaction(() =>
        picked.map((seq) => {
          const n = (this.attempts.get(seq) ?? 0) + 1;
          this.attempts.putSync(seq, n);
          return n;
        }),
      );
    } catch (err) {
      for (const seq of picked) this.leased.delete(seq);
      throw new Error('recording delivery attempts on the local bus', { cause: err });
    }
    return picked.map((seq, i) => this.toInbound(seq, stored[i]!, counts[i]!));
  }

  /** The message is done: its outcome is durably written. */
  async ack(id: string): Promise<void> {
    const seq = seqOf(id);
    await this.root.transaction(() => {
      this.messages.removeSync(seq);
      this.attempts.removeSync(seq);
    });
    this.leased.delete(seq);
    this.notBefore.delete(seq);
  }

  /** Gives the message back; it is delivered again after `delayMs`. */
  nack(id: string, opts: { delayMs?: number } = {}): void {
    const seq = seqOf(id);
    this.leased.delete(seq);
    if (opts.delayMs && opts.delayMs > 0) this.notBefore.set(seq, this.timer() + opts.delayMs);
    else this.notBefore.delete(seq);
    this.wake();
  }

  /** Unacked messages, leased or not. */
  pendingCount(): number {
    return this.messages.getKeysCount({});
  }

  /**
   * Milliseconds until a message can be received: 0 if one is available now, undefined if every
   * pending message is leased (or none is pending).
   */
  nextAvailableInMs(): number | undefined {
    const now = this.timer();
    let best: number | undefined;
    for (const seq of this.messages.getKeys({})) {
      if (seq > this.deliverableThrough) break;
      if (this.leased.has(seq)) continue;
      const wait = Math.max(0, (this.notBefore.get(seq) ?? now) - now);
      if (wait === 0) return 0;
      best = best === undefined ? wait : Math.min(best, wait);
    }
    return best;
  }

  /** Resolves when something was published or given back, or after timeoutMs. */
  waitForWork(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.waiters = self.waiters.filter((w) => w !== done);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private toInbound(seq: number, m: StoredMessage, deliveryAttempt: number): InboundMessage {
    return { id: messageIdOf(seq), receivedAt: new Date(m.r), attributes: m.a, entries: m.e, deliveryAttempt };
  }

  private assertUsable(): void {
    if (this.closed) throw new Error('the local bus is closed');
    if (this.broken) throw this.broken;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.archiveTail;
    this.wake();
    await this.root.close();
  }
}
