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
 * not parse stays an entry (the stage rejects it as `invalid_json`). Chunks may be Buffers (decoded
 * as UTF-8 across chunk boundaries, invalid bytes becoming U+FFFD as readFile does) or strings.
 */
export async function* ndjsonFileEntries(input: AsyncIterable<Buffer | string>): AsyncGenerator<FileEntry> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let line = 0;
  const lineOf = (text: string): string => (text.charCodeAt(text.length - 1) === 0x0d ? text.slice(0, -1) : text);
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      line++;
      const entry = lineOf(text.slice(start, nl));
      // A copy, not a slice: a sliced string would keep the whole chunk alive while the entry waits in a batch.
      if (entry.trim() !== '') yield { entry: copyString(entry), line };
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  carry += decoder.decode();
  if (carry !== '') {
    line++;
    const entry = lineOf(carry);
    if (entry.trim() !== '') yield { entry: copyString(entry), line };
  }
}

/** Flattens a V8 sliced/cons string into its own storage. */
function copyString(s: string): string {
  return (' ' + s).slice(1);
}

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
