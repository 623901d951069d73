import assert from 'node:assert/strict';
import { File, Storage } from '@google-cloud/storage';
import sinon from 'sinon';
import { PosFileError, posFormat, readPosBatch } from '../../../adapters/gcp/pos-batch-reader.js';

const CSV = [
  'merchant_id,store_id,order_id,event_id,event_ts,status,channel,fulfilment,currency,sku,category,quantity,unit_price_minor',
  'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,dine_in,EUR,pizza,food,2,900',
  'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,dine_in,EUR,cola,drinks,1,300',
  'm1,s1,o2,e2,2026-11-21T10:05:00Z,completed,pos,pickup,EUR,pizza,food,1,900',
].join('\n');

describe('gcp POS batch reader', () => {
  const sandbox = sinon.createSandbox();
  afterEach(() => sandbox.restore());
  const storage = new Storage({ projectId: 'p' });

  function serve(text: string) {
    const seen: { name: string; generation: unknown }[] = [];
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      seen.push({ name: this.name, generation: this.generation });
      return [Buffer.from(text)];
    }) as never);
    return seen;
  }

  it('splits a CSV into one entry per order, reading the notified generation', async () => {
    const seen = serve(CSV);
    const { format, entries } = await readPosBatch(storage, { bucket: 'pos', name: 'm1/2026-11-21/1000.csv', generation: '1732183200123456' });
    assert.equal(format, 'csv');
    assert.equal(entries.length, 2);
    assert.deepEqual(entries.map((e) => [JSON.parse(e).event_id, JSON.parse(e).body.line_items.length]), [
      ['e1', 2],
      ['e2', 1],
    ]);
    assert.deepEqual(seen, [{ name: 'm1/2026-11-21/1000.csv', generation: 1732183200123456 }]);
  });

  it('splits NDJSON into one entry per line, keeping unparsable lines', async () => {
    serve('{"event_id":"a"}\r\nnot json\n\n{"event_id":"b"}\n');
    assert.deepEqual(await readPosBatch(storage, { bucket: 'pos', name: 'batch.ndjson' }), { format: 'ndjson', entries: ['{"event_id":"a"}', 'not json', '{"event_id":"b"}'] });
  });

  it('refuses a file it can never split', async () => {
    serve('merchant_id,nonsense\nm1,x\n');
    await assert.rejects(readPosBatch(storage, { bucket: 'pos', name: 'x.csv' }), (err: Error) => err instanceof PosFileError && /missing columns/.test(err.message));
    await assert.rejects(readPosBatch(storage, { bucket: 'pos', name: 'x.xlsx' }), (err: Error) => err instanceof PosFileError && err.message === 'gs://pos/x.xlsx: not a POS file (name it .csv or .ndjson)');
    assert.equal(posFormat({ name: 'upload', contentType: 'text/csv; charset=utf-8' }), 'csv');
  });
});
