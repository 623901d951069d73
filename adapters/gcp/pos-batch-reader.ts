// Reads a POS batch file that landed in the POS bucket and splits it into entries with the shared
// ingest code: a CSV becomes one entry per order (posCsvToEntries), NDJSON one entry per line.
// The object generation from the bucket notification is pinned, so a retry reads the same bytes even
// if the file was overwritten meanwhile.
import type { Storage } from '@google-cloud/storage';
import { posCsvToEntries, splitNdjson } from '../../pipeline/ingest/entries.js';

export interface PosObjectRef {
  bucket: string;
  name: string;
  generation?: string;
  contentType?: string;
}

export type PosFormat = 'csv' | 'ndjson';

/** A file that can never be split (unknown format, unreadable CSV): retrying will not help. */
export class PosFileError extends Error {
  override name = 'PosFileError';
}

export function posFormat(ref: Pick<PosObjectRef, 'name' | 'contentType'>): PosFormat | undefined {
  const name = ref.name.toLowerCase();
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  const type = (ref.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (type === 'application/x-ndjson' || type === 'application/ndjson') return 'ndjson';
  return undefined;
}

export function splitPosFile(format: PosFormat, text: string): string[] {
  if (format === 'ndjson') return splitNdjson(text);
  try {
    return posCsvToEntries(text);
  } catch (err) {
    throw new PosFileError((err as Error).message, { cause: err });
  }
}

export async function readPosBatch(storage: Storage, ref: PosObjectRef): Promise<{ format: PosFormat; entries: string[] }> {
  const format = posFormat(ref);
  if (!format) throw new PosFileError(`gs://${ref.bucket}/${ref.name}: not a POS file (name it .csv or .ndjson)`);
  const file = storage.bucket(ref.bucket).file(ref.name, ref.generation ? { generation: Number(ref.generation) } : {});
  let bytes: Buffer;
  try {
    [bytes] = await file.download();
  } catch (err) {
    throw new Error(`downloading gs://${ref.bucket}/${ref.name} failed`, { cause: err });
  }
  return { format, entries: splitPosFile(format, bytes.toString('utf8')) };
}
