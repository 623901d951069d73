// The generator's promise to the pipeline: loaded once, received at the anchor, with the default ingest
// configuration, every entry ends in the end state the generator meant, and the manifest's counts are exact.
import assert from 'node:assert/strict';
import { resolveDimensions } from '../../pipeline/contracts/dimensions.js';
import type { InboundMessage } from '../../pipeline/ports.js';
import { batchEntries } from '../../pipeline/ingest/entries.js';
import { createIngestStage } from '../../pipeline/ingest/stage.js';
import { generateWorkload } from '../../demo/generator.js';
import { InMemoryDedupeIndex } from '../support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../support/in-memory-raw-sink.js';

const ANCHOR = '2026-11-21T12:00:00Z';

describe('demo workload through the ingest stage', function () {
  this.timeout(60_000);

  it('ends every entry as annotated and matches the manifest counts exactly', async () => {
    const w = generateWorkload({ events: 6000, merchants: 2, seed: 'outcomes', anchor: ANCHOR, annotate: true });
    const dimensions = resolveDimensions(w.dimensions);
    const sink = new InMemoryRawSink();
    const stage = createIngestStage({
      dimensions: async () => dimensions,
      dedupe: new InMemoryDedupeIndex(),
      sink,
      clock: { now: () => new Date(ANCHOR) },
    });
    const batches = batchEntries(w.entries, { maxEntries: 250 });
    let offset = 0;
    const indexOf = new Map<string, number>();
    for (const [i, entries] of batches.entries()) {
      const msg: InboundMessage = { id: `msg-${i}`, receivedAt: new Date(ANCHOR), attributes: { source: 'server' }, entries, deliveryAttempt: 1 };
      entries.forEach((_, j) => indexOf.set(`${msg.id}/${j}`, offset + j));
      offset += entries.length;
      await stage(msg);
    }
    assert.equal(offset, w.entries.length);

    const counts = sink.counts();
    assert.deepStrictEqual(
      { published: w.entries.length, accepted: counts.accepted, rejected: counts.rejected, duplicates: counts.duplicates },
      { ...w.manifest.expected, rejected: { ...w.manifest.expected.rejected } },
    );

    // Entry by entry: the reason of every rejected row and every duplicate is the one the generator meant.
    const actual = w.annotations!.map(() => 'accepted' as string);
    for (const [key, row] of sink.rejected) actual[indexOf.get(key)!] = row.reason;
    for (const key of sink.duplicates.keys()) actual[indexOf.get(key)!] = 'duplicate';
    const mismatches = actual.flatMap((state, i) => (state === w.annotations![i]!.expected ? [] : [`${i} ${w.annotations![i]!.kind}: expected ${w.annotations![i]!.expected}, got ${state}: ${w.entries[i]!.slice(0, 160)}`]));
    assert.deepStrictEqual(mismatches.slice(0, 5), []);
  });
});
