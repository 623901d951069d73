// The speed layer on the gcp path: ingestEvents (through the functions-framework test server) with the
// stage wrapped as functions/index.ts wires it, partials in the Bigtable series store (emulator). A
// push delivered twice, before and after compaction, leaves the provisional numbers unchanged.
import assert from 'node:assert/strict';
import { encodeMessage } from '../../../adapters/gcp/bus-codec.js';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { createIngestEventsHandler } from '../../../functions/ingest-events.js';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import { FAMILY_PARTIAL } from '../../../pipeline/ports.js';
import { encodeRowKey } from '../../../pipeline/series/row-key.js';
import { provisionalValues } from '../../../pipeline/speed/cells.js';
import { createPartialWriter, withSpeedLayer } from '../../../pipeline/speed/writer.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../../adapters/gcp/support/emulators.js';
import { InMemoryDedupeIndex } from '../../support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../../support/in-memory-raw-sink.js';
import { deliver, MemoryLogger, testServer } from '../../functions/support.js';
import { dimensions, order, RECEIVED_AT } from '../ingest/fixtures.js';

const TOTAL = encodeRowKey({ merchantId: 'pizzaco', series: 'sales', dims: {}, grain: 'h' }, '2026112111');

describe('speed layer through ingestEvents (Bigtable emulator)', function () {
  this.timeout(60_000);

  it('writes partials before acknowledging, and a redelivered push changes no provisional number', async () => {
    await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    const series = createBigtableSeriesStore(await ensureTable(instance, `speed-fn-${process.pid}`, SERIES_FAMILIES));
    const clock = { now: () => RECEIVED_AT };
    const sink = new InMemoryRawSink();
    const stage = withSpeedLayer(
      createIngestStage({ dimensions: async () => dimensions, dedupe: new InMemoryDedupeIndex(), sink, clock }),
      createPartialWriter({ series, clock, compactEvery: 2 }),
      { maxAttempts: 5 },
    );
    const srv = testServer(createIngestEventsHandler({ stage, sink, clock, maxDeliveryAttempts: 5, logger: new MemoryLogger() }));
    const push = (n: number) => {
      const o = order();
      o.event_id = `ord-${n}`;
      o.body.order_id = `o-${n}`;
      return { messageId: `pubsub-${n}`, ...encodeMessage({ receivedAt: RECEIVED_AT, attributes: { source: 'online' }, entries: [JSON.stringify(o)] }) };
    };
    const values = async () => {
      const [row] = await series.readRange({ start: TOTAL, end: TOTAL + '\u0000' });
      const v = provisionalValues(row?.cells[FAMILY_PARTIAL] ?? {});
      return { orders: v.orders, net_revenue_minor: v.net_revenue_minor };
    };

    assert.equal((await deliver(srv, 'push', push(1))).status, 200);
    assert.deepStrictEqual(await values(), { orders: 1, net_revenue_minor: 2450 });
    assert.equal((await deliver(srv, 'push', push(1), 2)).status, 200);
    assert.deepStrictEqual(await values(), { orders: 1, net_revenue_minor: 2450 });
    // The second message compacts the rows; message 1 delivered once more is already folded.
    assert.equal((await deliver(srv, 'push', push(2))).status, 200);
    assert.equal((await deliver(srv, 'push', push(1), 3)).status, 200);
    assert.deepStrictEqual(await values(), { orders: 2, net_revenue_minor: 4900 });
  });
});
