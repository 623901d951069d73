// The 5 GB variant of test/runtime/file-ingest.it.test.ts: ten times what one V8 string can hold.
import assert from 'node:assert/strict';
import { runStreamProof } from './stream-proof.js';

const MB = 1024 * 1024;

describe('publishing a 5 GB file as a stream', () => {
  it('publishes every entry of a 5 GB NDJSON stream with resident memory growing by less than 256 MB and nothing left on the heap', async () => {
    const p = await runStreamProof(5 * 1024 * MB);
    assert.ok(p.bytes >= 5 * 1024 * MB);
    assert.equal(p.published, p.lines);
    assert.ok(p.linesChecked > 8000);
    const growth = p.rssPeak - p.rssBefore;
    process.stderr.write(`  5 GB stream: ${p.published} entries in ${p.messages} messages, resident memory ${(p.rssBefore / MB).toFixed(0)} → peak ${(p.rssPeak / MB).toFixed(0)} MB, heap after collection ${(p.heapBefore / MB).toFixed(1)} → ${(p.heapAfter / MB).toFixed(1)} MB\n`);
    assert.ok(growth < 256 * MB, `resident memory grew by ${(growth / MB).toFixed(0)} MB while streaming ${(p.bytes / MB).toFixed(0)} MB`);
    // What stays per message (its line runs) is a few bytes: a stream that kept its entries would leave the file's size.
    assert.ok(p.heapAfter - p.heapBefore < 16 * MB, `the heap kept ${((p.heapAfter - p.heapBefore) / MB).toFixed(1)} MB after streaming`);
  });
});
