// Streaming a batch file into the bus with bounded memory (runtime/file-ingest.ts). The file of the
// old whole-string reader cost twice its size in memory and failed above ~512 MB ("Invalid string length").
import assert from 'node:assert/strict';
import { runStreamProof } from './stream-proof.js';

const MB = 1024 * 1024;

describe('publishing a file as a stream', () => {
  it('publishes every entry of a 200 MB NDJSON stream with resident memory growing by less than 160 MB', async () => {
    const p = await runStreamProof(200 * MB);
    assert.ok(p.bytes >= 200 * MB);
    assert.equal(p.published, p.lines);
    assert.ok(p.settles >= 2, `drained ${p.settles} times`);
    assert.ok(p.linesChecked > 300);
    const growth = p.rssPeak - p.rssBefore;
    process.stderr.write(`  200 MB stream: ${p.published} entries in ${p.messages} messages, resident memory ${(p.rssBefore / MB).toFixed(0)} → peak ${(p.rssPeak / MB).toFixed(0)} MB\n`);
    assert.ok(growth < 160 * MB, `resident memory grew by ${(growth / MB).toFixed(0)} MB while streaming ${(p.bytes / MB).toFixed(0)} MB`);
  });
});
