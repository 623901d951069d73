// ArchiveReader over the payload archive in Cloud Storage. The archive is written once, by a Pub/Sub
// Cloud Storage subscription on the ingest topics (Avro, write_metadata on, so every record keeps the
// message id, attributes — received_at among them — and data). This module only reads it.
//
// Object names follow the subscription's filename settings, which infra-cdktf fixes as
//   <prefix><YYYY-MM-DD>/<hh_mm_ss>Z<uuid>.avro        (UTC time the object was written)
// so a range read lists one folder per day. An object holds messages received before it was written,
// normally minutes before; WRITE_SLACK_MS bounds how much later than a message its object may be.
// The subscription is at-least-once, so a message may be archived twice: ids are deduplicated.
import { Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import avro from 'avsc';
import type { ArchiveReader, InboundMessage } from '../../pipeline/ports.js';
import { decodeMessage } from './bus-codec.js';

const DAY_MS = 86_400_000;
/** An archived message's object is written at most this long after the message was received. */
export const WRITE_SLACK_MS = 6 * 3_600_000;

/** A record as the Cloud Storage subscription writes it with write_metadata. */
export interface ArchiveRecord {
  subscription_name: string;
  message_id: string;
  /** Microseconds since the epoch (timestamp-micros). */
  publish_time: number;
  attributes: Record<string, string>;
  data: Buffer;
}

export async function decodeAvroObject(bytes: Buffer): Promise<ArchiveRecord[]> {
  const records: ArchiveRecord[] = [];
  const decoder = new avro.streams.BlockDecoder();
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: ArchiveRecord) => records.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([bytes]).on('error', reject).pipe(decoder);
  });
  return records;
}

const dayFolder = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface GcsArchiveOptions {
  storage: Storage;
  bucket: string;
  prefix: string;
}

export function createGcsArchiveReader(opts: GcsArchiveOptions): ArchiveReader {
  const bucket = opts.storage.bucket(opts.bucket);

  /** Objects written in [fromMs, toMs), from the day folders that can hold them, in name (= time) order. */
  async function objectsWritten(fromMs: number, toMs: number) {
    const names: string[] = [];
    for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < toMs; day += DAY_MS) {
      const [files] = await bucket.getFiles({ prefix: `${opts.prefix}${dayFolder(day)}/`, autoPaginate: true });
      for (const f of files) {
        const created = Date.parse(f.metadata.timeCreated ?? '');
        if (!Number.isFinite(created) || (created >= fromMs && created < toMs)) names.push(f.name);
      }
    }
    return names.sort();
  }

  return {
    async *read({ from, to }) {
      const fromMs = from.getTime();
      const toMs = to.getTime();
      if (!(toMs > fromMs)) return;
      // One UTC day of receive times at a time, so memory holds a day, not the whole range.
      for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < toMs; day += DAY_MS) {
        const lo = Math.max(day, fromMs);
        const hi = Math.min(day + DAY_MS, toMs);
        const byId = new Map<string, InboundMessage>();
        for (const name of await objectsWritten(lo, hi + WRITE_SLACK_MS)) {
          const [bytes] = await bucket.file(name).download();
          for (const r of await decodeAvroObject(bytes)) {
            const decoded = decodeMessage({
              id: r.message_id,
              data: Buffer.from(r.data),
              attributes: r.attributes ?? {},
              publishTime: new Date(Math.floor(Number(r.publish_time) / 1000)),
              deliveryAttempt: 1,
            });
            const t = decoded.message.receivedAt.getTime();
            if (t >= lo && t < hi && !byId.has(r.message_id)) byId.set(r.message_id, decoded.message);
          }
        }
        const messages = [...byId.values()].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        yield* messages;
      }
    },
  };
}
