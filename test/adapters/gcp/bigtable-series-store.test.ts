// The Bigtable series store's write path with a recording table: MutateRows requests of whole rows,
// sent in parallel but never more requests or bytes in flight than MUTATE_FLOW allows.
import assert from 'node:assert/strict';
import type { Table } from '@google-cloud/bigtable';
import { createBigtableSeriesStore, MUTATE_FLOW } from '../../../adapters/gcp/bigtable-series-store.js';
import type { SeriesMutation } from '../../../pipeline/ports.js';

type Entry = { rowKey: Buffer; mutations: unknown[] };

/**
 * A table whose MutateRows calls each take a few event-loop turns and are recorded; like the client,
 * it takes an entry, a list of entries or a list of lists (flattened one level).
 */
function recordingTable(opts: { failOn?: number } = {}) {
  const requests: Entry[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const table = {
    async mutate(raw: Entry | (Entry | Entry[])[], o: { rawMutation: boolean }) {
      assert.equal(o.rawMutation, true);
      const n = requests.push((Array.isArray(raw) ? raw : [raw]).flat(1));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      inFlight--;
      if (n === opts.failOn) throw new Error('UNAVAILABLE');
      return [];
    },
  };
  return { table: table as unknown as Table, requests, maxInFlight: () => maxInFlight };
}

const cells = (rows: number): SeriesMutation[] =>
  Array.from({ length: rows }, (_, i) => ({ kind: 'set', key: `m1#sales#h#${String(i).padStart(6, '0')}`, family: 'm', cells: { orders: i, net_revenue_minor: i * 100 } }));

describe('Bigtable series store writes', () => {
  it('writes every row once, in requests of whole rows sent in parallel within the in-flight bound', async () => {
    const { table, requests, maxInFlight } = recordingTable();
    const rows = 25 * MUTATE_FLOW.rowsPerRequest + 17;
    await createBigtableSeriesStore(table).mutate(cells(rows));
    assert.equal(requests.length, 26);
    assert.ok(requests.every((r) => r.length <= MUTATE_FLOW.rowsPerRequest));
    const keys = requests.flat().map((e) => e.rowKey.toString());
    assert.deepStrictEqual(keys, cells(rows).map((m) => m.key));
    assert.equal(maxInFlight(), MUTATE_FLOW.requestsInFlight);
  });

  it('keeps the requests of concurrent writes together within the in-flight bound, each write whole', async () => {
    const { table, requests, maxInFlight } = recordingTable();
    const store = createBigtableSeriesStore(table);
    const rows = 6 * MUTATE_FLOW.rowsPerRequest;
    const first = cells(rows);
    const second = cells(rows).map((m) => ({ ...m, key: m.key.replace('m1#', 'm2#') }));
    // Two callers at once (the exporter keeps several writes going): 12 requests, never more than 8 in flight.
    await Promise.all([store.mutate(first), store.mutate(second)]);
    assert.equal(requests.length, 12);
    assert.equal(maxInFlight(), MUTATE_FLOW.requestsInFlight);
    const keys = requests.flat().map((e) => e.rowKey.toString());
    assert.deepStrictEqual(keys.filter((k) => k.startsWith('m1#')), first.map((m) => m.key));
    assert.deepStrictEqual(keys.filter((k) => k.startsWith('m2#')), second.map((m) => m.key));
  });

  it('keeps the bytes in flight under the bound when rows are large', async () => {
    const { table, requests, maxInFlight } = recordingTable();
    // 6 MiB rows: one per request (over bytesPerRequest), and five of them fill the 32 MiB in flight.
    const big = 'x'.repeat(6 << 20);
    const mutations: SeriesMutation[] = Array.from({ length: 16 }, (_, i) => ({ kind: 'set', key: `m1#doc#${i}`, family: 'm', cells: { [big]: i } }));
    await createBigtableSeriesStore(table).mutate(mutations);
    assert.deepStrictEqual(requests.map((r) => r.length), Array.from({ length: 16 }, () => 1));
    assert.equal(maxInFlight(), Math.floor(MUTATE_FLOW.bytesInFlight / (6 << 20)));
  });

  it('fails the write, naming it, when a request fails', async () => {
    const { table } = recordingTable({ failOn: 3 });
    await assert.rejects(createBigtableSeriesStore(table).mutate(cells(5000)), (err: Error) => {
      assert.equal(err.message, 'writing 5000 series rows to Bigtable failed');
      assert.equal((err.cause as Error).message, 'UNAVAILABLE');
      return true;
    });
  });
});
