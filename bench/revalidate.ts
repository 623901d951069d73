// Re-validation figure: entries/s re-validated from a payload archive read shard by shard through
// the Cloud Storage archive reader (Avro objects as the Pub/Sub Cloud Storage subscription writes
// them, served by a stubbed bucket that encodes each object when it is downloaded), each message
// through the ingest stage; warehouse look-ups, dedupe index and raw sink are fakes that keep
// nothing, so what grows with the archive is the re-validation's own memory. Each size runs in its
// own process so its peak RSS (getrusage maxRSS) is its own: flat from 100k to 1M entries means
// memory holds a shard and a chunk, not the archive.
// `npm run bench -- --only revalidate` measures it alone and updates it in latest.json.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Bucket, File, Storage } from '@google-cloud/storage';
import { encodeMessage } from '../adapters/gcp/bus-codec.js';
import { createGcsArchiveReader, type ArchiveRecord } from '../adapters/gcp/gcs-archive.js';
import { createIngestStage } from '../pipeline/ingest/stage.js';
import { revalidate } from '../pipeline/marts/reprocess.js';
import type { DedupeIndex, Warehouse } from '../pipeline/ports.js';
import { dimensions, order } from '../test/pipeline/ingest/fixtures.js';
import { archiveObject } from '../test/support/archive-avro.js';

export interface RevalidateFigures {
  entries_per_s: number;
  peak_rss_mb_100k: number;
  peak_rss_mb_1m: number;
}

const MESSAGES_PER_OBJECT = 100;
const ENTRIES_PER_MESSAGE = 100;
const DAY = '2026-11-21';
const START = Date.parse(`${DAY}T10:00:00Z`);

/** Object i: written at START + i seconds, its messages received in the second before. */
function objectName(i: number): string {
  const t = new Date(START + (i + 1) * 1000).toISOString();
  return `archive/${DAY}/${t.slice(11, 19).replaceAll(':', '_')}Z-${String(i).padStart(6, '0')}.avro`;
}

function objectBytes(i: number): Promise<Buffer> {
  return archiveObject(objectRecords(i));
}

function* objectRecords(i: number): Generator<ArchiveRecord> {
  for (let m = 0; m < MESSAGES_PER_OBJECT; m++) {
    const receivedAt = new Date(START + i * 1000 + m);
    const entries = Array.from({ length: ENTRIES_PER_MESSAGE }, (_, e) => {
      const o = order();
      o.event_id = `ord-${i}-${m}-${e}`;
      o.event_ts = '2026-11-21T09:55:00Z';
      o.body.order_id = `o-${i}-${m}-${e}`;
      return JSON.stringify(o);
    });
    const { data, attributes } = encodeMessage({ receivedAt, attributes: { source: 'online', key_merchant_id: 'pizzaco' }, entries });
    yield { subscription_name: 'projects/bench/subscriptions/archive', message_id: `${i}-${m}`, publish_time: receivedAt.getTime() * 1000, attributes, data };
  }
}

async function child(entries: number): Promise<void> {
  const objects = Math.ceil(entries / (MESSAGES_PER_OBJECT * ENTRIES_PER_MESSAGE));
  const names = Array.from({ length: objects }, (_, i) => objectName(i));
  const index = new Map(names.map((n, i) => [n, i]));
  // Plain replacements, not sinon stubs: a stub records every answer, which would keep every object's bytes.
  Bucket.prototype.getFiles = async function (this: Bucket, q: { prefix: string }) {
    return [names.filter((n) => n.startsWith(q.prefix)).map((n, i) => Object.assign(this.file(n), { metadata: { timeCreated: new Date(START + (i + 1) * 1000).toISOString() } }))];
  } as never;
  File.prototype.download = async function (this: File) {
    return [await objectBytes(index.get(this.name)!)];
  } as never;
  const archive = createGcsArchiveReader({ storage: new Storage({ projectId: 'bench' }), bucket: 'archive', prefix: 'archive/' });
  const warehouse: Warehouse = { run: async () => {}, query: async () => [] as never[] };
  const dedupe: DedupeIndex = { claim: async (claims) => claims.map(() => ({ kind: 'new' as const })) };
  const stage = createIngestStage({ dimensions: async () => dimensions, dedupe, sink: { write: async () => {} }, clock: { now: () => new Date(`${DAY}T12:00:00Z`) } });
  let saved: string | undefined;
  const t0 = performance.now();
  const { report } = await revalidate(
    { warehouse, archive, stage, dedupe, checkpoint: { load: async () => saved, save: async (s) => void (saved = s) } },
    { from: new Date(START - 3_600_000), to: new Date(START + 3_600_000) },
  );
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ entries: report.entries, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

async function run(entries: number): Promise<{ entries: number; seconds: number; peak_rss_mb: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', String(entries)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

export async function measureRevalidate(opts: { sizes: [number, number]; log: (s: string) => void }): Promise<RevalidateFigures & { entries_large: number }> {
  const small = await run(opts.sizes[0]);
  opts.log(`  revalidate ${small.entries} entries: ${small.seconds.toFixed(2)} s, ${small.peak_rss_mb.toFixed(0)} MB`);
  const large = await run(opts.sizes[1]);
  opts.log(`  revalidate ${large.entries} entries: ${large.seconds.toFixed(2)} s, ${large.peak_rss_mb.toFixed(0)} MB`);
  return {
    entries_per_s: Math.round(large.entries / large.seconds),
    peak_rss_mb_100k: Math.round(small.peak_rss_mb),
    peak_rss_mb_1m: Math.round(large.peak_rss_mb),
    entries_large: large.entries,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'child') {
  await child(Number(process.argv[3]));
  process.exit(0);
}
