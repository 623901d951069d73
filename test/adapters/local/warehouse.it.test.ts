import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendRows } from '../../../adapters/local/duckdb-values.js';
import { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { loadSchemaTables } from '../../support/zetasql/catalog.js';
import { opt, rep, req, type TableDef } from '../../../pipeline/schema/types.js';
import type { DedupeClaim } from '../../../pipeline/ports.js';
import { sampleWrite } from './fixtures.js';
import { WINDOW_MERGE_SQL } from '../../pipeline/sql/window-merge-fixture.js';

describe('LocalWarehouse', () => {
  let dir: string;
  let wh: LocalWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-wh-'));
    wh = await LocalWarehouse.open({ path: join(dir, 'warehouse.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  const snapshot = async () => ({
    events: await wh.query(`SELECT * FROM raw.events ORDER BY message_id, entry_index`),
    lines: await wh.query(`SELECT * FROM raw.order_lines ORDER BY event_id, line_index`),
    rejected: await wh.query(`SELECT * FROM raw.rejected_events ORDER BY message_id, entry_index`),
    duplicates: await wh.query(`SELECT * FROM raw.duplicates ORDER BY message_id, entry_index`),
    arrivals: await wh.query(`SELECT * FROM raw.arrivals ORDER BY message_id`),
  });

  it('creates every table of the schema source with BigQuery-faithful types', async () => {
    const tables = await loadSchemaTables();
    const ids = (await wh.query<{ id: string }>(`SELECT schema_name || '.' || table_name AS id FROM duckdb_tables() WHERE schema_name <> 'state' ORDER BY 1`)).map((r) => r.id);
    assert.deepEqual(ids, tables.map((t) => t.id).sort());
    const cols = await wh.query<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = 'raw' AND table_name = 'events' AND column_name IN ('event_ts', 'promo_ids', 'gross_minor', 'store_id') ORDER BY column_name`,
    );
    assert.deepEqual(cols, [
      { column_name: 'event_ts', data_type: 'TIMESTAMP WITH TIME ZONE', is_nullable: 'NO' },
      { column_name: 'gross_minor', data_type: 'BIGINT', is_nullable: 'YES' },
      { column_name: 'promo_ids', data_type: 'VARCHAR[]', is_nullable: 'YES' },
      { column_name: 'store_id', data_type: 'VARCHAR', is_nullable: 'YES' },
    ]);
  });

  it('bounds what DuckDB may hold to its memory limit instead of 80 % of the machine, hands freed memory back, and checkpoints at its WAL threshold', async () => {
    const settings = await wh.query<{ name: string; value: string }>(
      `SELECT name, value FROM duckdb_settings() WHERE name IN ('memory_limit', 'checkpoint_threshold', 'allocator_flush_threshold', 'allocator_background_threads') ORDER BY name`,
    );
    // DuckDB shows sizes in MiB: 400 MB is 381.4 MiB, 64 MB 61.0, 32 MB 30.5.
    assert.deepEqual(settings, [
      { name: 'allocator_background_threads', value: 'true' },
      { name: 'allocator_flush_threshold', value: '30.5 MiB' },
      { name: 'checkpoint_threshold', value: '61.0 MiB' },
      { name: 'memory_limit', value: '381.4 MiB' },
    ]);
  });

  it('writes rows that read back whole, in a UTC session', async () => {
    await wh.write(sampleWrite('000000000001', 2));
    const s = await snapshot();
    assert.equal(s.events.length, 2);
    const e = s.events[0] as Record<string, unknown>;
    assert.deepEqual(
      { id: e.event_id, ts: e.event_ts, promos: e.promo_ids, gross: e.gross_minor, partner: e.delivery_partner },
      { id: '000000000001-e0', ts: new Date('2026-11-20T10:15:00Z'), promos: ['p1', 'p2'], gross: 2500, partner: null },
    );
    assert.deepEqual(await wh.query(`SELECT date_trunc('day', TIMESTAMPTZ '2026-11-20 23:30:00-05:00') AS d`), [{ d: new Date('2026-11-21T00:00:00Z') }]);
    assert.deepEqual(await wh.entryCounts(), { accepted: 2, rejected: { schema_mismatch: 1 }, duplicates: 1 });
  });

  it('writing the same IngestWrite twice leaves the same rows', async () => {
    await wh.write(sampleWrite('000000000001', 3));
    await wh.write(sampleWrite('000000000002', 1));
    const once = await snapshot();
    await wh.write(sampleWrite('000000000001', 3));
    assert.deepEqual(await snapshot(), once);
  });

  it('a rewrite of a message replaces its earlier outcome', async () => {
    await wh.write(sampleWrite('000000000001', 3));
    const second = sampleWrite('000000000001', 1);
    await wh.write(second);
    const s = await snapshot();
    assert.deepEqual(s.events.map((r) => r.event_id), ['000000000001-e0']);
    assert.deepEqual(s.lines.map((r) => r.event_id), ['000000000001-e0']);
    assert.deepEqual(s.rejected.map((r) => r.entry_index), [1]);
  });

  it('a failed write leaves nothing behind', async () => {
    const bad = sampleWrite('000000000001', 2);
    (bad.arrivals[0] as { merchant_id: unknown }).merchant_id = null;
    await assert.rejects(wh.write(bad), /raw\.arrivals\.merchant_id is required/);
    assert.deepEqual(await wh.entryCounts(), { accepted: 0, rejected: {}, duplicates: 0 });
  });

  it('group-commits concurrent writes, and one bad write fails alone', async () => {
    const bad = sampleWrite('000000000002', 1);
    (bad.arrivals[0] as { merchant_id: unknown }).merchant_id = null;
    const results = await Promise.allSettled([wh.write(sampleWrite('000000000001', 2)), wh.write(bad), wh.write(sampleWrite('000000000003', 1))]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual((await wh.query<{ message_id: string }>('SELECT DISTINCT message_id FROM raw.events ORDER BY 1')).map((r) => r.message_id), ['000000000001', '000000000003']);
  });

  it('counts end states restricted to a run', async () => {
    await wh.write(sampleWrite('000000000001', 3));
    await wh.write(sampleWrite('000000000002', 5));
    assert.deepEqual(await wh.entryCounts({ messageIds: ['000000000002'] }), { accepted: 5, rejected: { schema_mismatch: 1 }, duplicates: 1 });
    assert.deepEqual(await wh.entryCounts({ messageIds: [] }), { accepted: 0, rejected: {}, duplicates: 0 });
  });

  it('binds named parameters of every SqlParams kind', async () => {
    const rows = await wh.query(`SELECT $n + 1 AS n, $s AS s, $t AS t, $l AS l, $b AS b`, {
      n: 41,
      s: 'x',
      t: new Date('2026-01-01T00:00:00Z'),
      l: ['a', 'b'],
      b: true,
    });
    assert.deepEqual(rows, [{ n: 42, s: 'x', t: new Date('2026-01-01T00:00:00Z'), l: ['a', 'b'], b: true }]);
  });

  it('binds a long list of strings with every element, in order, as a value and in a filter', async () => {
    const long = Array.from({ length: 1000 }, (_, i) => (i === 7 ? '' : i === 8 ? 'a, "b"|ü' : `m|${String(i).padStart(4, '0')}`));
    await wh.run('CREATE SCHEMA IF NOT EXISTS m');
    await wh.run('CREATE TABLE m.l (id VARCHAR, xs VARCHAR[])');
    await wh.run('INSERT INTO m.l VALUES ($id, $xs)', { id: 'a', xs: long });
    assert.deepEqual(await wh.query('SELECT id, xs FROM m.l'), [{ id: 'a', xs: long }]);
    const [row] = await wh.query<{ n: number }>("SELECT count(*) AS n FROM range(2000) r(i) WHERE concat('m|', lpad(i::VARCHAR, 4, '0')) IN (SELECT unnest($xs))", { xs: long });
    assert.equal(row!.n, 998);
    const streamed: string[] = [];
    await wh.queryPages<{ x: string }>("SELECT x FROM (SELECT unnest($xs) AS x) WHERE x IN (SELECT unnest($xs))", { xs: long }, async (rows) => {
      for (const r of rows) streamed.push(r.x);
    });
    assert.deepEqual(streamed.sort(), [...long].sort());
  });

  it('streams a query\'s rows a DuckDB chunk at a time, in order, and frees the connection after the last page', async () => {
    const sizes: number[] = [];
    let sum = 0;
    let last = -1;
    await wh.queryPages<{ i: number }>('select i from range(5000) as t(i) order by i', undefined, async (rows) => {
      sizes.push(rows.length);
      for (const r of rows) {
        assert.equal(r.i, last + 1);
        last = r.i;
        sum += r.i;
      }
      await new Promise((resolve) => setImmediate(resolve));
    });
    assert.deepEqual(sizes, [2048, 2048, 904]);
    assert.equal(sum, (4999 * 5000) / 2);
    // the connection is free again once the last page is handled
    assert.deepEqual(await wh.query('select 1 as one'), [{ one: 1 }]);
  });

  it('passes SQL through the translate hook', async () => {
    const seen: string[] = [];
    const w2dir = join(dir, 'other.duckdb');
    const w2 = await LocalWarehouse.open({ path: w2dir, translate: (sql) => (seen.push(sql), sql.replace('SAFE_DIVIDE(1, 0)', 'NULL')) });
    try {
      assert.deepEqual(await w2.query('SELECT SAFE_DIVIDE(1, 0) AS x'), [{ x: null }]);
      assert.deepEqual(seen, ['SELECT SAFE_DIVIDE(1, 0) AS x']);
    } finally {
      await w2.close();
    }
  });

  it('appends and reads back every column type of the schema source', async () => {
    const table: TableDef = {
      id: 'marts.every_type',
      description: 'test',
      uniqueKey: ['s'],
      columns: [
        req('s', 'STRING', ''),
        req('i', 'INT64', ''),
        opt('n', 'NUMERIC', ''),
        opt('f', 'FLOAT64', ''),
        opt('b', 'BOOL', ''),
        opt('t', 'TIMESTAMP', ''),
        opt('d', 'DATE', ''),
        rep('r', 'INT64', ''),
      ],
    };
    const w2 = await LocalWarehouse.open({ path: join(dir, 'types.duckdb'), tables: [table] });
    try {
      await w2.transaction((conn) =>
        appendRows(conn, table, [
          { s: 'a', i: 9_007_199_254_740_993n, n: '12.345678901', f: 0.5, b: true, t: new Date('2026-11-21T10:00:00.123Z'), d: '2026-11-21', r: [1, 2] },
          { s: 'b', i: 2 },
        ]),
      );
      assert.deepEqual(await w2.query('SELECT s, i, n::VARCHAR AS n, f, b, t, d, r FROM marts.every_type ORDER BY s'), [
        { s: 'a', i: 9_007_199_254_740_993n, n: '12.345678901', f: 0.5, b: true, t: new Date('2026-11-21T10:00:00.123Z'), d: new Date('2026-11-21T00:00:00Z'), r: [1, 2] },
        { s: 'b', i: 2, n: null, f: null, b: null, t: null, d: null, r: [] },
      ]);
    } finally {
      await w2.close();
    }
  });

  it('adds the nullable columns a newer schema declares to an existing table', async () => {
    const v1: TableDef = { id: 'marts.grow', description: 't', uniqueKey: ['k'], columns: [req('k', 'STRING', '')] };
    const v2: TableDef = { ...v1, columns: [...v1.columns, opt('added', 'INT64', '')] };
    const path = join(dir, 'grow.duckdb');
    await (await LocalWarehouse.open({ path, tables: [v1] })).close();
    const w2 = await LocalWarehouse.open({ path, tables: [v2] });
    try {
      await w2.run(`INSERT INTO marts.grow VALUES ('a', 1)`);
      assert.deepEqual(await w2.query('SELECT * FROM marts.grow'), [{ k: 'a', added: 1 }]);
    } finally {
      await w2.close();
    }
    const v3: TableDef = { ...v2, columns: [...v2.columns, req('needed', 'STRING', '')] };
    await assert.rejects(LocalWarehouse.open({ path, tables: [v3] }), /has a table marts\.grow without its required column needed/);
  });

  it('runs a window-replacing MERGE as a DELETE of the window and an INSERT, with the MERGE’s rows', async () => {
    await wh.run('CREATE SCHEMA IF NOT EXISTS m');
    await wh.run('CREATE TABLE m.t (k VARCHAR, h BIGINT, n BIGINT)');
    await wh.run("INSERT INTO m.t VALUES ('a', 1, 10), ('b', 2, 20), ('c', 3, 30), ('d', 5, 50)");
    const merge = WINDOW_MERGE_SQL;
    // The rewrite itself: test/pipeline/sql/dialect.test.ts.
    await wh.run(merge, { lo: 2, hi: 4, unused: 'x' });
    assert.deepEqual(await wh.query('SELECT k, h, n FROM m.t ORDER BY k'), [
      { k: 'a', h: 1, n: 10 },
      { k: 'd', h: 5, n: 50 },
      { k: 'x', h: 2, n: 7 },
      { k: 'y', h: 3, n: 8 },
    ]);
  });

  describe('dedupe index', () => {
    const claim = (eventId: string, hash: string, messageId: string, index: number): DedupeClaim => ({
      merchantId: 'm1',
      eventId,
      contentHash: hash,
      entry: { messageId, index },
    });

    it('decides new, same entry, duplicate and conflict, first copy winning inside a batch', async () => {
      assert.deepEqual(await wh.claim([claim('e1', 'h1', 'a', 0), claim('e1', 'h1', 'a', 1), claim('e2', 'h2', 'a', 2), claim('e2', 'hX', 'a', 3)]), [
        { kind: 'new' },
        { kind: 'duplicate', first: { messageId: 'a', index: 0 } },
        { kind: 'new' },
        { kind: 'conflict', first: { messageId: 'a', index: 2 } },
      ]);
      assert.deepEqual(await wh.claim([claim('e1', 'h1', 'a', 0), claim('e1', 'hY', 'b', 0)]), [
        { kind: 'same_entry' },
        { kind: 'conflict', first: { messageId: 'a', index: 0 } },
      ]);
    });

    it('finds earlier claims of event ids with quotes, backslashes, control and non-ASCII characters', async () => {
      const ids = ['say "hi"', 'back\\slash\\', 'tab\tnl\n\u0001\u001f', 'Zürich – 𝄞', '[1,"x"]', 'e1'];
      assert.deepEqual(await wh.claim(ids.map((id, i) => claim(id, 'h', 'a', i))), ids.map(() => ({ kind: 'new' })));
      assert.deepEqual(
        await wh.claim(ids.map((id, i) => claim(id, i % 2 === 0 ? 'h' : 'other', 'b', i))),
        ids.map((_, i) => ({ kind: i % 2 === 0 ? 'duplicate' : 'conflict', first: { messageId: 'a', index: i } })),
      );
    });

    it('answers concurrent claims as if made one by one, in call order', async () => {
      const [a, b, c] = await Promise.all([wh.claim([claim('e1', 'h1', 'a', 0)]), wh.claim([claim('e1', 'h1', 'b', 0), claim('e2', 'h2', 'b', 1)]), wh.claim([claim('e2', 'hX', 'c', 0)])]);
      assert.deepEqual([a, b, c], [
        [{ kind: 'new' }],
        [{ kind: 'duplicate', first: { messageId: 'a', index: 0 } }, { kind: 'new' }],
        [{ kind: 'conflict', first: { messageId: 'b', index: 1 } }],
      ]);
    });

    it('stays exact across close and reopen', async () => {
      await wh.claim([claim('e1', 'h1', 'a', 0)]);
      await wh.close();
      wh = await LocalWarehouse.open({ path: join(dir, 'warehouse.duckdb') });
      assert.deepEqual(await wh.claim([claim('e1', 'h1', 'b', 4), claim('e1', 'h1', 'a', 0)]), [
        { kind: 'duplicate', first: { messageId: 'a', index: 0 } },
        { kind: 'same_entry' },
      ]);
    });

    it('release frees a key only for its owner', async () => {
      await wh.claim([claim('e1', 'h1', 'a', 0)]);
      await wh.release([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'b', index: 0 } }]);
      assert.deepEqual(await wh.claim([claim('e1', 'h1', 'c', 0)]), [{ kind: 'duplicate', first: { messageId: 'a', index: 0 } }]);
      await wh.release([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'a', index: 0 } }]);
      assert.deepEqual(await wh.claim([claim('e1', 'h1', 'c', 0)]), [{ kind: 'new' }]);
    });
  });
});
