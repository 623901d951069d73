// Tests of reading a file's entries as a stream: the same entries as the whole-text splitters, from
// any chunking, with the file line of each entry.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { POS_CSV_ERRORS_KEY, PosCsvError, batchEntries, posCsvToEntries, splitNdjson } from '../../../pipeline/ingest/entries.js';
import { batchFileEntries, checkPosCsvFile, ndjsonFileEntries, posCsvFileEntries, type FileEntry } from '../../../pipeline/ingest/file-entries.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The bytes of `text` cut into chunks of `size` bytes (cutting through multi-byte characters). */
function chunks(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const HEADER =
  'merchant_id,store_id,order_id,event_id,event_ts,status,channel,fulfilment,currency,sku,category,quantity,unit_price_minor,line_discount_minor,order_discount_minor,refund_minor,promo_ids';

describe('ndjsonFileEntries', () => {
  const text = '{"a":"é€"}\r\n\n  \n{broken\r\n{"b":"😀"}\n\r\n{"c":3}\r';

  it('yields the entries splitNdjson finds, from chunks of every size, with their lines', async () => {
    for (let size = 1; size <= Buffer.byteLength(text); size++) {
      const got = await collect(ndjsonFileEntries(Readable.from(chunks(text, size))));
      assert.deepStrictEqual(got, [
        { entry: '{"a":"é€"}', line: 1 },
        { entry: '{broken', line: 4 },
        { entry: '{"b":"😀"}', line: 5 },
        { entry: '{"c":3}', line: 7 },
      ], `chunk size ${size}`);
      assert.deepStrictEqual(got.map((e) => e.entry), splitNdjson(text));
    }
  });

  it('yields nothing for an empty or blank file', async () => {
    assert.deepStrictEqual(await collect(ndjsonFileEntries(Readable.from([]))), []);
    assert.deepStrictEqual(await collect(ndjsonFileEntries(Readable.from([Buffer.from('\n\r\n  \n')]))), []);
  });

  it('drops a byte order mark at the start of the file, even cut across chunks, and keeps one anywhere else', async () => {
    const bom = '\uFEFF';
    const text = `${bom}{"a":1}\n${bom}{"b":2}\n`;
    for (let size = 1; size <= Buffer.byteLength(text); size++) {
      const got = await collect(ndjsonFileEntries(Readable.from(chunks(text, size))));
      assert.deepStrictEqual(got, [{ entry: '{"a":1}', line: 1 }, { entry: `${bom}{"b":2}`, line: 2 }], `chunk size ${size}`);
    }
  });

  it('turns invalid UTF-8 into U+FFFD as reading the whole file does', async () => {
    const bytes = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    const got = await collect(ndjsonFileEntries(Readable.from([bytes.subarray(0, 7), bytes.subarray(7)])));
    assert.deepStrictEqual(got, [{ entry: splitNdjson(bytes.toString('utf8'))[0]!, line: 1 }]);
  });
});

describe('posCsvFileEntries', () => {
  const csv = [
    HEADER,
    'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,A,a,1,100,,,,',
    'm1,s1,o2,e2,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,B,b,two,200,,,,',
    'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,C,c,1,300,,,,',
    '"m1","s1","o3","e3","2026-11-21T10:05:00Z","completed","pos","pickup","EUR","D","d","1","50",,,,',
  ].join('\r\n');

  it('yields the entries posCsvToEntries makes, in first-appearance order, with the line of each first row', async () => {
    for (const size of [1, 7, 64, 1 << 16]) {
      const got = await collect(posCsvFileEntries(Readable.from(chunks(csv, size))));
      assert.deepStrictEqual(got.map((e) => e.entry), posCsvToEntries(csv), `chunk size ${size}`);
      assert.deepStrictEqual(got.map((e) => e.line), [2, 3, 5]);
    }
  });

  it('holds at most maxOpenOrders orders: rows of one order further apart become two entries, no row lost', async () => {
    const got = await collect(posCsvFileEntries(Readable.from([csv]), { maxOpenOrders: 1 }));
    const events = got.map((e) => JSON.parse(e.entry) as { event_id: string; body: { gross_minor: number } });
    assert.deepStrictEqual(events.map((e) => [e.event_id, e.body.gross_minor]), [['e1', 100], ['e2', 0], ['e1', 300], ['e3', 50]]);
    assert.deepStrictEqual((JSON.parse(got[1]!.entry) as Record<string, unknown>)[POS_CSV_ERRORS_KEY], ['line 3: quantity must be an integer, got "two"']);
  });

  it('throws PosCsvError for an unusable header or broken quoting, and checkPosCsvFile finds both before anything is read', async () => {
    const badHeader = 'merchant_id,event_id,colour\nm1,e1,red\n';
    await assert.rejects(collect(posCsvFileEntries(Readable.from([badHeader]))), (e: unknown) => e instanceof PosCsvError && /^POS CSV header is not usable \(missing columns: order_id/.test(e.message));
    await assert.rejects(checkPosCsvFile(Readable.from([badHeader])), PosCsvError);
    const broken = `${HEADER}\nm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,A,a,1,100,,,,\n"m1,s1`;
    await assert.rejects(checkPosCsvFile(Readable.from([broken])), (e: unknown) => e instanceof PosCsvError && /^POS CSV cannot be parsed: Quote Not Closed/.test(e.message));
    assert.deepStrictEqual(await checkPosCsvFile(Readable.from([csv])), { rows: 4 });
  });
});

describe('batchFileEntries', () => {
  it('batches as batchEntries does and keeps each entry line', async () => {
    const entries: FileEntry[] = ['a', 'x'.repeat(20), 'é', 'b', 'c'].map((entry, i) => ({ entry, line: i * 2 + 1 }));
    const got = await collect(batchFileEntries(Readable.from(entries), { maxBytes: 10, maxEntries: 2 }));
    assert.deepStrictEqual(got.map((b) => b.entries), batchEntries(entries.map((e) => e.entry), { maxBytes: 10, maxEntries: 2 }));
    assert.deepStrictEqual(got.map((b) => b.lines), [[1], [3], [5, 7], [9]]);
  });
});
