import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BIGINT,
  DuckDBDataChunk,
  DuckDBInstance,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  listValue,
  timestampTZValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { appendRows } from '../../../adapters/local/duckdb-values.js';
import { duckdbDdl } from '../../../pipeline/schema/ddl-duckdb.js';
import { opt, rep, req, type TableDef } from '../../../pipeline/schema/types.js';

// appendRows writes strings, integers, timestamps and string lists straight into DuckDB's vectors
// (short ASCII strings inline, validity masks as bytes). These tests hold its rows to the client's
// own per-value vectors, written here the way appendRows wrote them before, value for value.
const table = (id: `${string}.${string}`): TableDef => ({
  id,
  description: 't',
  uniqueKey: ['k'],
  columns: [
    req('k', 'INT64', ''),
    req('s', 'STRING', ''),
    opt('o', 'STRING', ''),
    opt('i', 'INT64', ''),
    opt('t', 'TIMESTAMP', ''),
    rep('l', 'STRING', ''),
  ],
});

const STRINGS = [
  '',
  'a',
  'EUR',
  'twelve_bytes', // 12 bytes: the longest inline string
  'thirteen_byte', // 13: the shortest one DuckDB keeps apart
  'café', // 4 characters, 5 bytes
  'ÉÉÉÉÉÉ', // 6 characters, 12 bytes
  'ÉÉÉÉÉÉÉ', // 7 characters, 14 bytes
  '\u{1F600}', // a surrogate pair, 4 bytes
  'Ålesund – Møre og Romsdal, a longer value with a dash',
  'tab\there',
  'nul\u0000after',
  '{"body":"json","n":1}',
  'x'.repeat(300),
];
const INTS = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 5, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 9_007_199_254_740_993n, -9_007_199_254_740_993n, '42'];
const TIMES = [
  new Date('2026-11-21T10:00:00.123Z'),
  new Date('1969-12-31T23:59:59.999Z'),
  new Date(0),
  '2027-03-01T00:00:00Z',
  new Date('2300-01-01T00:00:00.001Z'), // microseconds beyond 2^53
];

function rowsOf(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => ({
    k,
    s: STRINGS[k % STRINGS.length],
    o: k % 3 === 0 ? null : k % 5 === 0 ? undefined : STRINGS[(k * 7) % STRINGS.length] + (k % 4 === 0 ? String(k) : ''),
    i: k % 4 === 1 ? null : INTS[k % INTS.length],
    t: k % 6 === 2 ? undefined : TIMES[k % TIMES.length],
    l: k % 7 === 0 ? undefined : k % 7 === 1 ? [] : Array.from({ length: k % 4 }, (_, j) => (j === 1 && k % 3 === 0 ? null : STRINGS[(k + j) % STRINGS.length])),
  }));
}

/** The client's per-value path: one DuckDBValue per cell, set through its vectors. */
async function appendThroughClient(conn: DuckDBConnection, t: TableDef, rows: Record<string, unknown>[]): Promise<void> {
  const types = [BIGINT, VARCHAR, VARCHAR, BIGINT, TIMESTAMPTZ, LIST(VARCHAR)];
  const [schema, name] = t.id.split('.') as [string, string];
  const appender = await conn.createAppender(name, schema);
  const ts = (v: unknown) => timestampTZValue(BigInt(new Date(v as string | Date).getTime()) * 1000n);
  const convert: ((v: unknown) => DuckDBValue)[] = [
    (v) => BigInt(v as number),
    (v) => v as string,
    (v) => (v == null ? null : (v as string)),
    (v) => (v == null ? null : BigInt(v as number | string | bigint)),
    (v) => (v == null ? null : ts(v)),
    (v) => listValue(v == null ? [] : (v as (string | null)[])),
  ];
  for (let offset = 0; offset < rows.length; offset += 2048) {
    const n = Math.min(2048, rows.length - offset);
    const chunk = DuckDBDataChunk.create(types, n);
    t.columns.forEach((c, ci) => chunk.setColumnValues(ci, rows.slice(offset, offset + n).map((r) => convert[ci]!(r[c.name]))));
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

describe('appendRows (bulk vectors)', () => {
  let dir: string;
  let inst: DuckDBInstance;
  let conn: DuckDBConnection;
  const bulk = table('main.bulk');
  const client = table('main.client');
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-append-'));
    inst = await DuckDBInstance.create(join(dir, 'a.duckdb'));
    conn = await inst.connect();
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(duckdbDdl(bulk));
    await conn.run(duckdbDdl(client));
  });
  afterEach(async () => {
    conn.closeSync();
    inst.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);

  it('writes the same rows as the client’s per-value vectors, over several chunks', async () => {
    const rows = rowsOf(5_000);
    await appendRows(conn, bulk, rows);
    await appendThroughClient(conn, client, rows);
    assert.equal(await count('SELECT count(*) FROM main.bulk'), 5_000);
    assert.equal(await count('SELECT count(*) FROM (SELECT * FROM main.bulk EXCEPT ALL SELECT * FROM main.client)'), 0);
    assert.equal(await count('SELECT count(*) FROM (SELECT * FROM main.client EXCEPT ALL SELECT * FROM main.bulk)'), 0);
    // Compared and hashed through their bytes, not only through DuckDB's string equality.
    assert.equal(
      await count(`SELECT count(*) FROM main.bulk b JOIN main.client c USING (k)
                   WHERE md5(b.s) <> md5(c.s) OR octet_length(encode(b.s)) <> octet_length(encode(c.s))
                      OR md5(coalesce(b.o, '-')) <> md5(coalesce(c.o, '-')) OR b.o IS NULL <> (c.o IS NULL)
                      OR b.i IS DISTINCT FROM c.i OR b.t IS DISTINCT FROM c.t OR b.l::VARCHAR <> c.l::VARCHAR`),
      0,
    );
  });

  it('reads back what it was given: inline and long strings, nulls, 64-bit integers, timestamps, lists', async () => {
    const rows = rowsOf(200);
    await appendRows(conn, bulk, rows);
    const out = (await conn.runAndReadAll("SELECT k, s, o, i::VARCHAR AS i, strftime(t, '%Y-%m-%dT%H:%M:%S.%fZ') AS t, l FROM main.bulk ORDER BY k")).getRowObjectsJS();
    assert.equal(out.length, 200);
    for (const r of out) {
      const src = rows[Number(r.k)]!;
      assert.equal(r.s, src.s);
      assert.equal(r.o, src.o ?? null);
      assert.equal(r.i, src.i == null ? null : String(src.i));
      assert.equal(r.t, src.t == null ? null : new Date(src.t as string | Date).toISOString().replace('Z', '000Z'));
      assert.deepEqual(r.l, src.l ?? []);
    }
    // Inline strings answer SQL comparisons and prefix filters like strings DuckDB wrote itself.
    assert.equal(await count("SELECT count(*) FROM main.bulk WHERE s = 'twelve_bytes'"), rows.filter((r) => r.s === 'twelve_bytes').length);
    assert.equal(await count("SELECT count(*) FROM main.bulk WHERE s LIKE 'EU%'"), rows.filter((r) => r.s === 'EUR').length);
  });

  it('refuses an INT64 value beyond 64 bits, as the client did, instead of storing it wrapped', async () => {
    // setBigInt64 keeps the low 64 bits: 2^63 would be stored as -2^63 and 1e21 as 3875820019684212736.
    for (const i of [2n ** 63n, -(2n ** 63n) - 1n, 2 ** 64, 1e21, '9223372036854775808']) {
      await assert.rejects(appendRows(conn, bulk, [{ k: 1, s: 'a', i }]), /main\.bulk\.i: .* is out of the INT64 range/, String(i));
      await assert.rejects(appendThroughClient(conn, client, [{ k: 1, s: 'a', o: null, i, t: null, l: [] }]), /out of int64 range/, String(i));
    }
    assert.equal(await count('SELECT count(*) FROM main.bulk'), 0);
    // The ends of the range are kept exactly.
    await appendRows(conn, bulk, [{ k: 1, s: 'a', i: 2n ** 63n - 1n }, { k: 2, s: 'b', i: -(2n ** 63n) }, { k: 3, s: 'c', i: '-9223372036854775808' }]);
    const out = (await conn.runAndReadAll('SELECT i::VARCHAR FROM main.bulk ORDER BY k')).getRows().map((r) => r[0]);
    assert.deepEqual(out, ['9223372036854775807', '-9223372036854775808', '-9223372036854775808']);
  });

  it('refuses a row without a required value, naming the column', async () => {
    await assert.rejects(appendRows(conn, bulk, [{ k: 1, s: 'a' }, { k: 2 }]), /main\.bulk\.s is required/);
  });
});
