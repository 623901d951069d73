// Publishing a batch file to the local bus as a stream (what `tillstream ingest` does, in its own
// process or inside a running `tillstream start`): entries are read chunk by chunk
// (pipeline/ingest/file-entries.ts), batched into bounded messages and published a group at a time.
// Every published message is committed to the bus and archived before publish resolves (adapters/local/bus.ts),
// and `published` is counted by the bus as it commits, so the end states are those of a whole-file
// load: published = accepted + Σ rejected + duplicates. The runner consumes while the file is
// published (the bus commits and archive syncs of the next messages overlap the stage's work on the
// last ones); the caller drains what is left. Every `settleEveryBytes` published, the bus is
// drained, so undelivered messages never pile up beyond that on disk.
// A CSV is read through once before anything is published: a file csv-parse cannot read publishes
// nothing (as when it was read whole), instead of half of it.
import { createReadStream } from 'node:fs';
import type { MessageAttributes } from '../pipeline/ports.js';
import { batchFileEntries, checkPosCsvFile, ndjsonFileEntries, posCsvFileEntries, type FileEntry } from '../pipeline/ingest/file-entries.js';
import type { LocalPipeline } from './local-writer.js';

export type FileFormat = 'ndjson' | 'csv';

export interface PublishFileOptions {
  file: string;
  format: FileFormat;
  receivedAt: Date;
  attributes: MessageAttributes;
  /** Messages per bus commit. */
  messagesPerPublish?: number;
  /** Drain the bus after about this many bytes of entries were published (default 64 MB). */
  settleEveryBytes?: number;
  /** Progress, once per settle. */
  onProgress?: (p: { entries: number; messages: number }) => void;
  /** Run the runner while publishing (default true); false publishes only (the caller drains). */
  consume?: boolean;
}

export interface PublishedFile {
  entries: number;
  messages: number;
  /** The file line where the entry at `index` of message `messageId` starts (undefined for another run's message). */
  lineOf(messageId: string, index: number): number | undefined;
}

/** The entries of a file, NDJSON or POS CSV, streamed from disk. */
export function fileEntries(file: string, format: FileFormat): AsyncIterable<FileEntry> {
  return format === 'csv' ? posCsvFileEntries(createReadStream(file)) : ndjsonFileEntries(createReadStream(file));
}

export async function publishFile(rt: Pick<LocalPipeline, 'bus' | 'runner'>, opts: PublishFileOptions): Promise<PublishedFile> {
  if (opts.format === 'csv') await checkPosCsvFile(createReadStream(opts.file));
  return publishEntries(rt, fileEntries(opts.file, opts.format), opts);
}

/** Publishes a stream of entries in bounded messages; see the file comment. */
export async function publishEntries(rt: Pick<LocalPipeline, 'bus' | 'runner'>, entries: AsyncIterable<FileEntry>, opts: Omit<PublishFileOptions, 'file' | 'format'>): Promise<PublishedFile> {
  const perPublish = opts.messagesPerPublish ?? 16;
  const settleEvery = opts.settleEveryBytes ?? 64 * 1024 * 1024;
  // Per message, its runs of consecutive lines as [entry index, line] pairs: one pair for a message
  // without blank lines, one more per blank line inside it (a few bytes a message, however big the file).
  const lines = new Map<string, number[]>();
  let pending: { entries: string[]; lines: number[] }[] = [];
  let pendingBytes = 0;
  let sinceSettle = 0;
  let total = 0;
  let messages = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const ids = await rt.bus.publish(batch.map((b) => ({ receivedAt: opts.receivedAt, attributes: opts.attributes, entries: b.entries })));
    ids.forEach((id, i) => {
      const ls = batch[i]!.lines;
      const runs: number[] = [];
      ls.forEach((l, j) => {
        if (j === 0 || l !== ls[j - 1]! + 1) runs.push(j, l);
      });
      lines.set(id, runs);
    });
    messages += ids.length;
    sinceSettle += pendingBytes;
    pendingBytes = 0;
    if (sinceSettle >= settleEvery) {
      sinceSettle = 0;
      await rt.runner.drain();
      opts.onProgress?.({ entries: total, messages });
    }
  };

  const stop = new AbortController();
  let consumeFailure: { err: unknown } | undefined;
  const consuming = opts.consume === false ? undefined : rt.runner.run(stop.signal).catch((err: unknown) => void (consumeFailure = { err }));
  try {
    for await (const b of batchFileEntries(entries)) {
      pending.push(b);
      total += b.entries.length;
      for (const e of b.entries) pendingBytes += e.length;
      if (pending.length >= perPublish) await flush();
    }
    await flush();
  } finally {
    stop.abort();
    await consuming;
  }
  if (consumeFailure) throw new Error('consuming the bus while publishing failed', { cause: consumeFailure.err });
  return {
    entries: total,
    messages,
    lineOf(messageId, index) {
      const runs = lines.get(messageId);
      if (!runs) return undefined;
      let r = 0;
      while (r + 2 < runs.length && runs[r + 2]! <= index) r += 2;
      return runs[r + 1]! + (index - runs[r]!);
    },
  };
}

export interface RunRejection {
  line: number | undefined;
  reason: string;
  detail: string | null;
}

/** The first `limit` rejected entries of a published file, in file order, with their lines. */
export async function firstRejections(rt: Pick<LocalPipeline, 'warehouse' | 'bus'>, runId: string, published: PublishedFile, limit = 10): Promise<RunRejection[]> {
  const ids = rt.bus.runMessageIds(runId);
  if (ids.length === 0) return [];
  const rows = await rt.warehouse.query<{ message_id: string; entry_index: number; reason: string; detail: string | null }>(
    `select message_id, entry_index, reason, detail from raw.rejected_events
     where message_id in (select unnest($ids)) order by message_id, entry_index limit ${Math.max(0, Math.trunc(limit))}`,
    { ids },
  );
  return rows.map((r) => ({ line: published.lineOf(r.message_id, Number(r.entry_index)), reason: r.reason, detail: r.detail }));
}
