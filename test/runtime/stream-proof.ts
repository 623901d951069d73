// A file-sized NDJSON stream made on the fly (never stored), published through runtime/file-ingest.ts
// to a bus that only counts, with the process's resident memory sampled at every publish. Used by
// the integration test (~200 MB) and the long one (5 GB).
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { InboundMessage } from '../../pipeline/ports.js';
import { ndjsonFileEntries } from '../../pipeline/ingest/file-entries.js';
import { publishEntries } from '../../runtime/file-ingest.js';

export interface StreamProof {
  bytes: number;
  /** Non-blank lines written, and what was published. */
  lines: number;
  published: number;
  messages: number;
  settles: number;
  /** Resident set size before, and its peak while streaming, in bytes. */
  rssBefore: number;
  rssPeak: number;
  /** lineOf for every 1000th published entry matched the line it was written at. */
  linesChecked: number;
  /** JavaScript heap in use after a full collection, before and after streaming: what the stream left behind. */
  heapBefore: number;
  heapAfter: number;
}

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Order events of about 600 bytes, every 97th line blank and every 101st unparsable, until `bytes`. */
export function synthesizedNdjson(bytes: number): { stream: Readable; written: () => { lines: number; bytes: number }; lineText: (n: number) => string } {
  let produced = 0;
  let lineNo = 0;
  let nonBlank = 0;
  const lineText = (n: number): string => {
    if (n % 97 === 0) return '';
    if (n % 101 === 0) return `{"event_id":"e${n}", broken`;
    const ts = new Date(Date.UTC(2026, 10, 20) + (n % 86_400) * 1000).toISOString();
    return JSON.stringify({
      event_id: `evt-${n}`,
      merchant_id: 'pizzaroma',
      event_type: 'order',
      event_ts: ts,
      source: 'pos',
      schema_version: 1,
      store_id: `s${n % 40}`,
      body: {
        order_id: `o-${n}`, status: 'completed', channel: 'pos', fulfilment: 'pickup', currency: 'EUR',
        line_items: [{ sku: `sku-${n % 300}`, category: 'pizza', quantity: 1 + (n % 3), unit_price_minor: 1290, discount_minor: 0 }, { sku: 'drink-cola', category: 'drinks', quantity: 1, unit_price_minor: 350, discount_minor: 0 }],
        gross_minor: 1290 * (1 + (n % 3)) + 350, discount_minor: 0, net_minor: 1290 * (1 + (n % 3)) + 350, refund_minor: 0, promo_ids: [], client_ip: `10.${n % 250}.${n % 200}.${n % 100}`,
      },
    });
  };
  const stream = new Readable({
    read() {
      if (produced >= bytes) return void this.push(null);
      const parts: string[] = [];
      let size = 0;
      while (size < 64 * 1024 && produced + size < bytes) {
        lineNo++;
        const t = lineText(lineNo);
        if (t !== '') nonBlank++;
        parts.push(t, '\n');
        size += t.length + 1;
      }
      produced += size;
      this.push(Buffer.from(parts.join(''), 'utf8'));
    },
  });
  return { stream, written: () => ({ lines: nonBlank, bytes: produced }), lineText };
}

export async function runStreamProof(bytes: number): Promise<StreamProof> {
  const { stream, written, lineText } = synthesizedNdjson(bytes);
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  let published = 0;
  let seq = 0;
  let settles = 0;
  const kept: { id: string; index: number; entry: string }[] = [];
  const bus = {
    async publish(msgs: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[]): Promise<string[]> {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      return msgs.map((m) => {
        const id = String(++seq).padStart(12, '0');
        m.entries.forEach((entry, index) => {
          if ((published + index) % 1000 === 0) kept.push({ id, index, entry: entry.slice(0, 40) });
        });
        published += m.entries.length;
        return id;
      });
    },
  };
  const runner = {
    async drain() {
      settles++;
      return { processed: 0, retried: 0, failed: 0 };
    },
    // The consumer publishEntries runs while publishing: this bus delivers nothing, so it only waits to be stopped.
    async run(signal: AbortSignal) {
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return { processed: 0, retried: 0, failed: 0 };
    },
  };
  const result = await publishEntries({ bus, runner } as never, ndjsonFileEntries(stream), { receivedAt: new Date(), attributes: { source: 'pos', run_id: 'proof' } });
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  let linesChecked = 0;
  for (const k of kept) {
    const line = result.lineOf(k.id, k.index);
    if (line !== undefined && lineText(line).slice(0, 40) === k.entry) linesChecked++;
  }
  if (linesChecked !== kept.length) throw new Error(`${kept.length - linesChecked} of ${kept.length} sampled entries had a wrong line`);
  kept.length = 0;
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;
  return { bytes: written().bytes, lines: written().lines, published: result.entries, messages: result.messages, settles, rssBefore, rssPeak, linesChecked, heapBefore, heapAfter };
}
