import assert from 'node:assert/strict';
import { PubSub } from '@google-cloud/pubsub';
import { File, Storage } from '@google-cloud/storage';
import sinon from 'sinon';
import type { DecodedMessage } from '../../adapters/gcp/bus-codec.js';
import { readPosBatch } from '../../adapters/gcp/pos-batch-reader.js';
import { createPubSubPublisher, subscribe } from '../../adapters/gcp/pubsub-bus.js';
import { createIngestPosBatchHandler } from '../../functions/ingest-pos-batch.js';
import type { Publisher } from '../../pipeline/ports.js';
import { TEST_PROJECT, useEmulators } from '../adapters/gcp/support/emulators.js';
import { deliver, MemoryLogger, testServer, type PushMessage } from './support.js';

const CSV = [
  'merchant_id,store_id,order_id,event_id,event_ts,status,channel,fulfilment,currency,sku,category,quantity,unit_price_minor',
  'pizzaco,s001,o1,e1,2026-11-21T10:00:00Z,completed,pos,dine_in,EUR,MARG-L,pizza,2,900',
  'pizzaco,s001,o1,e1,2026-11-21T10:00:00Z,completed,pos,dine_in,EUR,COLA,drinks,1,300',
  'pizzaco,s001,o2,e2,2026-11-21T10:05:00Z,completed,pos,pickup,EUR,MARG-L,pizza,1,900',
  'pizzaco,s001,o3,e3,2026-11-21T10:07:00Z,completed,pos,pickup,EUR,COLA,drinks,1,300',
].join('\n');

function notification(object: Record<string, unknown>, eventType = 'OBJECT_FINALIZE'): PushMessage {
  return {
    messageId: `n-${String(object.name)}`,
    data: Buffer.from(JSON.stringify({ kind: 'storage#object', ...object })),
    attributes: {
      eventType,
      bucketId: String(object.bucket),
      objectId: String(object.name),
      objectGeneration: String(object.generation ?? '1'),
      payloadFormat: 'JSON_API_V1',
    },
  };
}

describe('ingestPosBatch function (emulators)', function () {
  this.timeout(60_000);
  const sandbox = sinon.createSandbox();
  let pubsub: PubSub;
  let logger: MemoryLogger;
  const storage = new Storage({ projectId: TEST_PROJECT });

  before(async () => {
    await useEmulators();
    pubsub = new PubSub({ projectId: TEST_PROJECT });
  });
  after(async () => pubsub?.close());
  beforeEach(() => (logger = new MemoryLogger()));
  afterEach(() => sandbox.restore());

  const server = (publisher: Publisher) => testServer(createIngestPosBatchHandler({ read: (ref) => readPosBatch(storage, ref), publisher, logger }));

  it('splits a new POS file and publishes its orders to the POS topic in bounded batches', async () => {
    sandbox.stub(File.prototype, 'download').resolves([Buffer.from(CSV)] as never);
    const name = `pos-${Date.now()}`;
    const [topic] = await pubsub.createTopic(name);
    const [sub] = await topic.createSubscription(`${name}-sub`, { ackDeadlineSeconds: 10 });
    const srv = server(createPubSubPublisher({ pubsub, topic: name, limits: { maxEntries: 2 } }));

    const res = await deliver(srv, 'push', notification({ bucket: 'pos-bucket', name: 'pizzaco/2026-11-21/1015.csv', generation: '17', timeCreated: '2026-11-21T10:15:03.250Z' }));
    assert.deepEqual([res.status, res.body], [
      200,
      { message_id: 'n-pizzaco/2026-11-21/1015.csv', outcome: 'published', file: 'gs://pos-bucket/pizzaco/2026-11-21/1015.csv', entries: 3, messages: 2 },
    ]);

    const seen: DecodedMessage[] = [];
    await new Promise<void>((resolve) => {
      const handle = subscribe({
        subscription: sub,
        handle: async (d) => {
          seen.push(d);
          if (seen.length === 2) void handle.close().then(resolve);
          return 'ack';
        },
      });
    });
    const messages = seen.map((d) => d.message).sort((a, b) => b.entries.length - a.entries.length);
    assert.deepEqual(
      messages.map((m) => [m.receivedAt.toISOString(), m.attributes, m.entries.map((e) => JSON.parse(e).event_id)]),
      [
        ['2026-11-21T10:15:03.250Z', { source: 'pos' }, ['e1', 'e2']],
        ['2026-11-21T10:15:03.250Z', { source: 'pos' }, ['e3']],
      ],
    );
  });

  it('acknowledges other bucket events without reading anything', async () => {
    const download = sandbox.stub(File.prototype, 'download');
    const publish = sinon.fake.resolves([]);
    const res = await deliver(server({ publish }), 'cloudevent-binary', notification({ bucket: 'b', name: 'x.csv' }, 'OBJECT_DELETE'));
    assert.deepEqual([res.status, res.body], [200, { message_id: 'n-x.csv', outcome: 'ignored', event_type: 'OBJECT_DELETE' }]);
    assert.equal(download.callCount + publish.callCount, 0);
  });

  it('acknowledges a file that can never be split, with an error in the log', async () => {
    sandbox.stub(File.prototype, 'download').resolves([Buffer.from('merchant_id,what\npizzaco,1\n')] as never);
    const publish = sinon.fake.resolves([]);
    const res = await deliver(server({ publish }), 'cloudevent-structured', notification({ bucket: 'b', name: 'bad.csv' }));
    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'unreadable_file');
    assert.equal(publish.callCount, 0);
    assert.deepEqual(logger.lines.map((l) => [l.level, l.msg]), [['error', 'POS file cannot be split into entries']]);
  });

  it('answers 500 so the notification is retried when the file cannot be read or published now', async () => {
    const download = sandbox.stub(File.prototype, 'download').rejects(Object.assign(new Error('503 backend'), { code: 503 }));
    const publish = sinon.fake.rejects(new Error('publish timed out'));
    const srv = server({ publish });
    const first = await deliver(srv, 'push', notification({ bucket: 'b', name: 'ok.csv' }));
    assert.deepEqual([first.status, first.body], [500, { error: { code: 'internal', message: 'reading gs://b/ok.csv failed' } }]);
    download.resolves([Buffer.from(CSV)] as never);
    const second = await deliver(srv, 'push', notification({ bucket: 'b', name: 'ok.csv' }));
    assert.deepEqual([second.status, second.body], [500, { error: { code: 'internal', message: 'publishing the entries of gs://b/ok.csv failed' } }]);
  });
});
