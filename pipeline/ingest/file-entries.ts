// Entries of a file of any size, read as a stream (DESIGN.md, "Contracts": an entry is one NDJSON line
// or the rows of one order in a POS CSV). The whole-text splitters of entries.ts need the file in one
// string, which V8 caps at about 512 MB and which costs twice the file in memory; these read it
// chunk by chunk and hold at most one line (NDJSON) or a bounded window of open orders (CSV), so a
// 5 GB file loads in bounded memory. Each entry carries its file line, so a rejection can name it.
import { parse as parseCsvStream } from 'csv-parse';
import type { Readable } from 'node:stream';
import {
  DEFAULT_BATCH_LIMITS,
  POS_CSV_PARSE_OPTIONS,
  PosCsvError,
  PosCsvGrouper,
  checkPosCsvHeader,
  type BatchLimits,
  type PosCsvRecord,
} from './entries.js';

export interface FileEntry {
  /** The entry's text: the line as written (NDJSON), or the order event built from its rows (CSV). */
  entry: string;
  /** 1-based line of the file where the entry starts. */
  line: number;
}

/**
 * One entry per non-blank line, LF or CRLF, exactly as splitNdjson splits a text: a line that does
 * not parse stays an entry (the stage rejects it as `invalid_json`). Chunks may be Buffers or strings;
 * the bytes are decoded as UTF-8 as reading the whole file does (invalid bytes become U+FFFD, a byte
 * order mark at the start is dropped).
 * Lines are split on the bytes and decoded one by one (as the collector's splitNdjsonBytes does): a
 * chunk decoded whole became one two-byte string as soon as one of its lines was not ASCII (a third of
 * the demo mix's entries carry an en dash), and every entry cut from it stayed two-byte, which made
 * each later pass over it — hashing, the bus's msgpack, the archive's JSON — slower. Each entry owns
 * its storage, so no entry keeps a chunk alive while it waits in a batch. A newline byte is never part
 * of a multi-byte UTF-8 sequence, so lines split the same either way.
 */
export async function* ndjsonFileEntries(input: AsyncIterable<Buffer | string>): AsyncGenerator<FileEntry> {
  let carry: Buffer = EMPTY; // the bytes of an unfinished line, copied out of their chunk
  let line = 0;
  const entryOf = (bytes: Buffer, start: number, end: number): string | undefined => {
    line++;
    if (line === 1 && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    const text = bytes.toString('utf8', start, end);
    return text.trim() === '' ? undefined : text;
  };
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let nl = bytes.indexOf(0x0a);
    if (nl === -1) {
      carry = Buffer.concat([carry, bytes]);
      continue;
    }
    const head = carry.length === 0 ? bytes.subarray(0, nl) : Buffer.concat([carry, bytes.subarray(0, nl)]);
    carry = EMPTY;
    let entry = entryOf(head, 0, head.length);
    if (entry !== undefined) yield { entry, line };
    let start = nl + 1;
    for (nl = bytes.indexOf(0x0a, start); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
      entry = entryOf(bytes, start, nl);
      if (entry !== undefined) yield { entry, line };
      start = nl + 1;
    }
    if (start < bytes.length) carry = Buffer.from(bytes.subarray(start));
  }
  if (carry.length > 0) {
    const entry = entryOf(carry, 0, carry.length);
    if (entry !== undefined) yield { entry, line };
  }
}
const EMPTY = Buffer.alloc(0);

/** Open orders held at once by the streaming CSV reader (see PosCsvGrouper). */
export const MAX_OPEN_ORDERS = 10_000;

/**
 * The order entries of a POS CSV stream, as posCsvToEntries makes them from a whole text (for rows of
 * one order at most MAX_OPEN_ORDERS orders apart). Throws PosCsvError for a header that is not usable
 * or a file csv-parse cannot read — possibly after some entries were yielded: checkPosCsvFile first
 * when nothing may be published from a broken file.
 */
export async function* posCsvFileEntries(input: Readable, opts: { maxOpenOrders?: number } = {}): AsyncGenerator<FileEntry> {
  const parser = input.pipe(parseCsvStream(POS_CSV_PARSE_OPTIONS));
  input.once('error', (err) => parser.destroy(err));
  let grouper: PosCsvGrouper | undefined;
  try {
    for await (const rec of parser as AsyncIterable<PosCsvRecord>) {
      if (!grouper) {
        checkPosCsvHeader(rec.record);
        grouper = new PosCsvGrouper(rec.record, opts.maxOpenOrders ?? MAX_OPEN_ORDERS);
        continue;
      }
      yield* grouper.push(rec);
    }
  } catch (err) {
    if (err instanceof PosCsvError || isIoError(err)) throw err;
    throw new PosCsvError(`POS CSV cannot be parsed: ${(err as Error).message}`, { cause: err });
  } finally {
    input.destroy();
  }
  if (grouper) yield* grouper.end();
}

/** Reads a POS CSV through once without keeping anything: throws PosCsvError where posCsvFileEntries would. */
export async function checkPosCsvFile(input: Readable): Promise<{ rows: number }> {
  const parser = input.pipe(parseCsvStream(POS_CSV_PARSE_OPTIONS));
  input.once('error', (err) => parser.destroy(err));
  let rows = -1;
  try {
    for await (const rec of parser as AsyncIterable<PosCsvRecord>) {
      if (rows === -1) checkPosCsvHeader(rec.record);
      rows++;
    }
  } catch (err) {
    if (err instanceof PosCsvError || isIoError(err)) throw err;
    throw new PosCsvError(`POS CSV cannot be parsed: ${(err as Error).message}`, { cause: err });
  } finally {
    input.destroy();
  }
  return { rows: Math.max(0, rows) };
}

function isIoError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

export interface FileBatch {
  entries: string[];
  /** The file line of each entry. */
  lines: number[];
}

/** batchEntries over a stream: message-sized batches by count and bytes, in order; an oversize entry travels alone. */
export async function* batchFileEntries(entries: AsyncIterable<FileEntry>, limits: Partial<BatchLimits> = {}): AsyncGenerator<FileBatch> {
  const maxEntries = limits.maxEntries ?? DEFAULT_BATCH_LIMITS.maxEntries;
  const maxBytes = limits.maxBytes ?? DEFAULT_BATCH_LIMITS.maxBytes;
  if (!(maxEntries >= 1) || !(maxBytes >= 1)) throw new RangeError('batch limits must be at least 1');
  let current: FileBatch = { entries: [], lines: [] };
  let bytes = 0;
  for await (const { entry, line } of entries) {
    const size = Buffer.byteLength(entry, 'utf8') + 1;
    if (current.entries.length > 0 && (current.entries.length >= maxEntries || bytes + size > maxBytes)) {
      yield current;
      current = { entries: [], lines: [] };
      bytes = 0;
    }
    current.entries.push(entry);
    current.lines.push(line);
    bytes += size;
  }
  if (current.entries.length > 0) yield current;
}
