// Streaming a batch file into the bus with bounded memory (runtime/file-ingest.ts). Resident memory is
// bounded by a fixed figure (V8 and the allocator keep some freed memory: it grew by 90-195 MB from
// 200 MB to 5 GB streams), the heap left after a full collection by a small one. The file of the
// old whole-string reader cost twice its size in memory and failed above ~512 MB ("Invalid string length").
import assert from 'node:assert/strict';
import { runStreamProof } from './stream-proof.js';

const MB = 1024 * 1024;

describe('publishing a file as a stream', () => {
  it('publishes every entry of a 200 MB NDJSON stream with resident memory growing by less than 256 MB and nothing left on the heap', async () => {
    const p = await runStreamProof(200 * MB);
    assert.ok(p.bytes >= 200 * MB);
    assert.equal(p.published, p.lines);
    assert.ok(p.settles >= 2, `drained ${p.settles} times`);
    assert.ok(p.linesChecked > 300);
    const growth = p.rssPeak - p.rssBefore;
    process.stderr.write(`  200 MB stream: ${p.published} entries in ${p.messages} messages, resident memory ${(p.rssBefore / MB).toFixed(0)} → peak ${(p.rssPeak / MB).toFixed(0)} MB, heap after collection ${(p.heapBefore / MB).toFixed(1)} → ${(p.heapAfter / MB).toFixed(1)} MB\n`);
    assert.ok(growth < 256 * MB, `resident memory grew by ${(growth / MB).toFixed(0)} MB while streaming ${(p.bytes / MB).toFixed(0)} MB`);
    // What stays per message (its line runs) is a few bytes: a stream that kept its entries would leave the file's size.
    assert.ok(p.heapAfter - p.heapBefore < 16 * MB, `the heap kept ${((p.heapAfter - p.heapBefore) / MB).toFixed(1)} MB after streaming`);
  });
});
