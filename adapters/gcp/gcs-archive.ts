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
import type { ArchiveReader, InboundMessage, ShardCheckpoint } from '../../pipeline/ports.js';
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

  /** Objects written in [fromMs, toMs), with their write times, from the day folders that can hold them, in name (= time) order. */
  async function objectsWritten(fromMs: number, toMs: number) {
    const objects: { name: string; writtenMs: number }[] = [];
    for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < toMs; day += DAY_MS) {
      const [files] = await bucket.getFiles({ prefix: `${opts.prefix}${dayFolder(day)}/`, autoPaginate: true });
      for (const f of files) {
        const created = Date.parse(f.metadata.timeCreated ?? '');
        if (!Number.isFinite(created) || (created >= fromMs && created < toMs)) objects.push({ name: f.name, writtenMs: Number.isFinite(created) ? created : day });
      }
    }
    return objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * One object at a time: memory holds one object (its size is bounded by the subscription's
   * max_bytes: https://cloud.google.com/pubsub/docs/create-cloudstorage-subscription#file_batching)
   * and the ids of the last WRITE_SLACK_MS of receive times, never a whole day. A copy archived
   * again lands in an object written within WRITE_SLACK_MS of its receipt, so an id received
   * earlier than that before the current object can be forgotten.
   */
  async function* shards({ from, to }: { from: Date; to: Date }, after?: string): AsyncGenerator<{ shard: string; messages: InboundMessage[] }> {
    const fromMs = from.getTime();
    const toMs = to.getTime();
    if (!(toMs > fromMs)) return;
    const seen = new Map<string, number>();
    for (const { name, writtenMs } of await objectsWritten(fromMs, toMs + WRITE_SLACK_MS)) {
      for (const [id, t] of seen) if (t < writtenMs - WRITE_SLACK_MS) seen.delete(id);
      const [bytes] = await bucket.file(name).download();
      const messages: InboundMessage[] = [];
      for (const r of await decodeAvroObject(bytes)) {
        const decoded = decodeMessage({
          id: r.message_id,
          data: Buffer.from(r.data),
          attributes: r.attributes ?? {},
          publishTime: new Date(Math.floor(Number(r.publish_time) / 1000)),
          deliveryAttempt: 1,
        });
        const t = decoded.message.receivedAt.getTime();
        if (t < fromMs || t >= toMs || seen.has(r.message_id)) continue;
        seen.set(r.message_id, t);
        messages.push(decoded.message);
      }
      // Objects resumed past still fill `seen`, so a copy of a message of a finished shard is not read again.
      if (after !== undefined && name <= after) continue;
      messages.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      yield { shard: name, messages };
    }
  }

  return {
    async *read(range) {
      for await (const { messages } of shards(range)) yield* messages;
    },
    readShards: (range, o) => shards(range, o?.after),
  };
}

/** A re-validation checkpoint as one small JSON object in Cloud Storage (rewritten after each shard). */
export function createGcsShardCheckpoint(opts: { storage: Storage; bucket: string; name: string }): ShardCheckpoint {
  const file = opts.storage.bucket(opts.bucket).file(opts.name);
  return {
    async load() {
      try {
        const [bytes] = await file.download();
        return (JSON.parse(bytes.toString('utf8')) as { after: string }).after;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw new Error(`reading the re-validation checkpoint ${opts.name} failed`, { cause: err });
      }
    },
    async save(shard) {
      await file.save(JSON.stringify({ after: shard }), { contentType: 'application/json', resumable: false });
    },
  };
}
