import assert from 'node:assert/strict';
import { Bucket, File, Storage } from '@google-cloud/storage';
import sinon from 'sinon';
import { encodeMessage } from '../../../adapters/gcp/bus-codec.js';
import { createGcsArchiveReader, createGcsShardCheckpoint, decodeAvroObject, type ArchiveRecord } from '../../../adapters/gcp/gcs-archive.js';
import type { InboundMessage } from '../../../pipeline/ports.js';
import { archiveObject } from '../../support/archive-avro.js';

function record(id: string, receivedAt: string, entries: string[]): ArchiveRecord {
  const { data, attributes } = encodeMessage({ receivedAt: new Date(receivedAt), attributes: { source: 'online', key_merchant_id: 'm1' }, entries });
  return { subscription_name: 'projects/p/subscriptions/archive', message_id: id, publish_time: Date.parse(receivedAt) * 1000 + 1500, attributes, data };
}

const message = (id: string, receivedAt: string, entries: string[]): InboundMessage => ({
  id,
  receivedAt: new Date(receivedAt),
  attributes: { source: 'online', key_merchant_id: 'm1' },
  entries,
  deliveryAttempt: 1,
});

describe('gcp Cloud Storage archive reader', () => {
  const sandbox = sinon.createSandbox();
  afterEach(() => sandbox.restore());

  it('decodes the Avro records the Cloud Storage subscription writes', async () => {
    const r = record('1', '2026-11-21T10:00:00.000Z', ['{"a":1}']);
    assert.deepEqual((await decodeAvroObject(await archiveObject([r]))).map((x) => ({ ...x })), [r]);
  });

  it('reads the messages received in a range, in receive order, once each, across day folders', async () => {
    const objects: Record<string, { created: string; records: ArchiveRecord[] }> = {
      'archive/2026-11-20/23_58_00Z-a.avro': {
        created: '2026-11-20T23:58:00Z',
        records: [record('10', '2026-11-20T23:50:00.000Z', ['before']), record('11', '2026-11-20T23:55:00.000Z', ['late evening'])],
      },
      'archive/2026-11-21/00_03_00Z-b.avro': {
        created: '2026-11-21T00:03:00Z',
        // 11 archived again (at-least-once); 12 received just after midnight.
        records: [record('12', '2026-11-21T00:01:00.000Z', ['after midnight']), record('11', '2026-11-20T23:55:00.000Z', ['late evening'])],
      },
      'archive/2026-11-21/09_00_00Z-c.avro': { created: '2026-11-21T09:00:00Z', records: [record('13', '2026-11-21T08:59:00.000Z', ['out of range'])] },
    };
    const prefixes: string[] = [];
    sandbox.stub(Bucket.prototype, 'getFiles').callsFake((async function (this: Bucket, query: { prefix: string }) {
      assert.equal(this.name, 'archive-bucket');
      prefixes.push(query.prefix);
      return [Object.entries(objects).filter(([name]) => name.startsWith(query.prefix)).map(([name, o]) => Object.assign(this.file(name), { metadata: { timeCreated: o.created } }))];
    }) as never);
    const bytes = new Map<string, Buffer>();
    for (const [name, o] of Object.entries(objects)) bytes.set(name, await archiveObject(o.records));
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      return [bytes.get(this.name)!];
    }) as never);

    const reader = createGcsArchiveReader({ storage: new Storage({ projectId: 'p' }), bucket: 'archive-bucket', prefix: 'archive/' });
    const got: InboundMessage[] = [];
    for await (const m of reader.read({ from: new Date('2026-11-20T23:52:00Z'), to: new Date('2026-11-21T06:00:00Z') })) got.push(m);
    assert.deepEqual(got, [message('11', '2026-11-20T23:55:00.000Z', ['late evening']), message('12', '2026-11-21T00:01:00.000Z', ['after midnight'])]);
    assert.deepEqual([...new Set(prefixes)], ['archive/2026-11-20/', 'archive/2026-11-21/']);
  });

  it('reads shard by shard, one object each, and resumes after a shard without reading a copy of a finished one again', async () => {
    const objects: Record<string, { created: string; records: ArchiveRecord[] }> = {
      'archive/2026-11-21/10_01_00Z-a.avro': { created: '2026-11-21T10:01:00Z', records: [record('1', '2026-11-21T10:00:10.000Z', ['one']), record('2', '2026-11-21T10:00:20.000Z', ['two'])] },
      // 2 archived again in the next object.
      'archive/2026-11-21/10_02_00Z-b.avro': { created: '2026-11-21T10:02:00Z', records: [record('3', '2026-11-21T10:01:30.000Z', ['three']), record('2', '2026-11-21T10:00:20.000Z', ['two'])] },
      'archive/2026-11-21/10_03_00Z-c.avro': { created: '2026-11-21T10:03:00Z', records: [record('4', '2026-11-21T10:02:30.000Z', ['four'])] },
    };
    sandbox.stub(Bucket.prototype, 'getFiles').callsFake((async function (this: Bucket, query: { prefix: string }) {
      return [Object.entries(objects).filter(([name]) => name.startsWith(query.prefix)).map(([name, o]) => Object.assign(this.file(name), { metadata: { timeCreated: o.created } }))];
    }) as never);
    const bytes = new Map<string, Buffer>();
    for (const [name, o] of Object.entries(objects)) bytes.set(name, await archiveObject(o.records));
    const downloads: string[] = [];
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      downloads.push(this.name);
      return [bytes.get(this.name)!];
    }) as never);
    const reader = createGcsArchiveReader({ storage: new Storage({ projectId: 'p' }), bucket: 'archive-bucket', prefix: 'archive/' });
    const range = { from: new Date('2026-11-21T10:00:00Z'), to: new Date('2026-11-21T11:00:00Z') };
    const shards = async (after?: string) => {
      const out: [string, string[]][] = [];
      for await (const s of reader.readShards!(range, after === undefined ? {} : { after })) out.push([s.shard, s.messages.map((m) => m.id)]);
      return out;
    };
    assert.deepEqual(await shards(), [
      ['archive/2026-11-21/10_01_00Z-a.avro', ['1', '2']],
      ['archive/2026-11-21/10_02_00Z-b.avro', ['3']],
      ['archive/2026-11-21/10_03_00Z-c.avro', ['4']],
    ]);
    assert.deepEqual(await shards('archive/2026-11-21/10_01_00Z-a.avro'), [
      ['archive/2026-11-21/10_02_00Z-b.avro', ['3']],
      ['archive/2026-11-21/10_03_00Z-c.avro', ['4']],
    ]);
    // Each shard is downloaded once per pass, in name order: one object in memory at a time.
    assert.deepEqual(downloads, [...Object.keys(objects), ...Object.keys(objects)]);
  });

  it('keeps a re-validation checkpoint as one object: none before the first save, then the last shard saved', async () => {
    const stored = new Map<string, string>();
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      const v = stored.get(`${this.bucket.name}/${this.name}`);
      if (v === undefined) throw Object.assign(new Error('No such object'), { code: 404 });
      return [Buffer.from(v)];
    }) as never);
    sandbox.stub(File.prototype, 'save').callsFake((async function (this: File, data: string) {
      stored.set(`${this.bucket.name}/${this.name}`, data);
    }) as never);
    const checkpoint = createGcsShardCheckpoint({ storage: new Storage({ projectId: 'p' }), bucket: 'archive-bucket', name: 'revalidate-checkpoints/r.json' });
    assert.equal(await checkpoint.load(), undefined);
    await checkpoint.save('archive/2026-11-21/10_01_00Z-a.avro');
    await checkpoint.save('archive/2026-11-21/10_02_00Z-b.avro');
    assert.equal(await checkpoint.load(), 'archive/2026-11-21/10_02_00Z-b.avro');
    assert.deepEqual([...stored.keys()], ['archive-bucket/revalidate-checkpoints/r.json']);
  });
});
