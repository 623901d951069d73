// The local payload archive: every published message's original entries, append-only, as NDJSON
// segment files per receive date (<dataDir>/archive/YYYY-MM-DD.ndjson), one line per message:
// {"id", "received_at", "attributes", "entries"}. Revalidation reads it back by received_at.
//
// The local bus writes it from its publish path, after the message is committed to the bus and
// before publish resolves or the message can be delivered (see bus.ts), so nothing published can
// be missing from it after a crash. A crash can at worst leave a torn last line (cut off on the next
// append, skipped by readers) or a line written twice (readers skip ids they have already passed:
// within a segment, ids only grow).
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ArchiveReader, ArchiveWriter, InboundMessage, MessageAttributes } from '../../pipeline/ports.js';

interface ArchiveLine {
  id: string;
  received_at: string;
  attributes: MessageAttributes;
  entries: string[];
}

type ArchivedMessage = Pick<InboundMessage, 'id' | 'receivedAt' | 'attributes' | 'entries'>;

interface QueuedAppend {
  messages: readonly ArchivedMessage[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const MAX_KEPT_BUFFER = 32 * 1024 * 1024;
const SEGMENT = /^(\d{4}-\d{2}-\d{2})\.ndjson$/;
const dayOf = (d: Date): string => d.toISOString().slice(0, 10);

export class LocalArchive implements ArchiveWriter, ArchiveReader {
  private readonly handles = new Map<string, FileHandle>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly queued: QueuedAppend[] = [];
  /** Reused output buffer of writeQueued (see encodeLines). */
  private out = Buffer.allocUnsafe(0);

  constructor(readonly dir: string) {}

  async append(message: InboundMessage): Promise<void> {
    await this.appendMany([message]);
  }

  /**
   * Appends messages in the given order and resolves once they are on disk. Appends that arrive while
   * one is being written are written together after it, in call order, with one fsync per touched
   * segment (group commit): concurrent publishers share the sync instead of queueing for one each.
   */
  appendMany(messages: readonly Pick<InboundMessage, 'id' | 'receivedAt' | 'attributes' | 'entries'>[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ messages, resolve, reject });
      if (this.queued.length > 1) return; // a write is scheduled already and will take these too
      const run = () => this.writeQueued(this.queued.splice(0));
      const p = this.tail.then(run, run);
      this.tail = p.catch(() => undefined);
    });
  }

  private async writeQueued(group: QueuedAppend[]): Promise<void> {
    try {
      const byDay = new Map<string, ArchivedMessage[]>();
      for (const { messages } of group) {
        for (const m of messages) {
          const day = dayOf(m.receivedAt);
          let ms = byDay.get(day);
          if (!ms) byDay.set(day, (ms = []));
          ms.push(m);
        }
      }
      for (const [day, ms] of byDay) {
        const fh = await this.segment(day);
        const bytes = this.encodeLines(ms);
        for (let at = 0; at < bytes.length; ) at += (await fh.write(bytes, at)).bytesWritten;
        await fh.datasync();
      }
    } catch (err) {
      for (const q of group) q.reject(err);
      return;
    }
    for (const q of group) q.resolve();
  }

  /**
   * The messages' archive lines (JSON.stringify of an ArchiveLine, byte for byte), each followed by a
   * newline, UTF-8 encoded into one buffer (reused up to MAX_KEPT_BUFFER bytes). A line is written
   * piece by piece, each entry as its own JSON string: a whole line as one string was megabytes
   * (large-object allocations, each bringing a full garbage collection nearer) and two-byte as soon as
   * one entry was not ASCII, and joining a group's lines copied it all again. Writes are serialized
   * (tail), so one buffer serves them all. Room is reserved by a piece's worst case (3 bytes per UTF-16
   * unit) rather than measured: Buffer.byteLength cost several times the encoding itself.
   */
  private encodeLines(messages: readonly ArchivedMessage[]): Buffer {
    let out = this.out;
    let at = 0;
    const reserve = (bytes: number) => {
      if (out.length - at >= bytes) return;
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, at + bytes, 64 * 1024));
      out.copy(bigger, 0, 0, at);
      out = bigger;
    };
    const put = (text: string) => {
      reserve(text.length * 3);
      at += out.write(text, at, 'utf8');
    };
    for (const m of messages) {
      put(`{"id":${JSON.stringify(m.id)},"received_at":"${m.receivedAt.toISOString()}","attributes":${JSON.stringify(m.attributes)},"entries":[`);
      for (let i = 0; i < m.entries.length; i++) {
        if (i > 0) {
          reserve(1);
          out[at++] = 0x2c; // ,
        }
        put(JSON.stringify(m.entries[i]));
      }
      put(']}\n');
    }
    if (out.length <= MAX_KEPT_BUFFER) this.out = out;
    return out.subarray(0, at);
  }

  private async segment(day: string): Promise<FileHandle> {
    const open_ = this.handles.get(day);
    if (open_) return open_;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${day}.ndjson`);
    const fh = await open(file, 'a+', 0o600);
    await cutTornTail(fh);
    this.handles.set(day, fh);
    return fh;
  }

  /** Messages whose receivedAt lies in [from, to), segment by segment in date order, each in append order. */
  async *read(range: { from: Date; to: Date }): AsyncIterable<InboundMessage> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const from = range.from.getTime();
    const to = range.to.getTime();
    const days = names
      .map((n) => SEGMENT.exec(n)?.[1])
      .filter((d): d is string => {
        if (d === undefined) return false;
        const start = Date.parse(`${d}T00:00:00Z`);
        return start < to && start + 86_400_000 > from; // the segment's day overlaps [from, to)
      })
      .sort();
    for (const day of days) {
      let lastId = '';
      const lines = createInterface({ input: createReadStream(join(this.dir, `${day}.ndjson`), 'utf8'), crlfDelay: Infinity });
      for await (const text of lines) {
        if (text === '') continue;
        let line: ArchiveLine;
        try {
          line = JSON.parse(text) as ArchiveLine;
        } catch {
          continue; // a torn line left by a crash mid-append
        }
        if (!isLaterId(line.id, lastId)) continue; // written twice by crash recovery
        lastId = line.id;
        const receivedAt = new Date(line.received_at);
        if (receivedAt < range.from || receivedAt >= range.to) continue;
        yield { id: line.id, receivedAt, attributes: line.attributes, entries: line.entries, deliveryAttempt: 1 };
      }
    }
  }

  async close(): Promise<void> {
    await this.tail;
    for (const fh of this.handles.values()) await fh.close();
    this.handles.clear();
  }
}

/** Bus ids are fixed-width decimal, so the longer or lexically greater one is later. */
function isLaterId(id: string, than: string): boolean {
  return id.length !== than.length ? id.length > than.length : id > than;
}

/** A crash can leave a partial last line; cut it off so the next line starts on its own. */
async function cutTornTail(fh: FileHandle): Promise<void> {
  const { size } = await fh.stat();
  if (size === 0) return;
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      const keep = start + nl + 1;
      if (keep !== size) {
        await fh.truncate(keep);
        await fh.datasync();
      }
      return;
    }
    end = start;
  }
  await fh.truncate(0);
}
