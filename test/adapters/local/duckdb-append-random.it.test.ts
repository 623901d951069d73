import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIGINT, DuckDBDataChunk, DuckDBInstance, LIST, TIMESTAMPTZ, VARCHAR, listValue, timestampTZValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { appendRows } from '../../../adapters/local/duckdb-values.js';
import { duckdbDdl } from '../../../pipeline/schema/ddl-duckdb.js';
import { opt, rep, req, type TableDef } from '../../../pipeline/schema/types.js';
import { mulberry32 as prng } from '../../support/random.js';

// Seeded random rows against the client's per-value vectors: appendRows writes strings into DuckDB's
// 16-byte slots itself (inline when short ASCII), validity masks as bytes and list children in one
// copy, so any slip in lengths (bytes vs UTF-16 units), padding, masks or offsets at chunk and list
// boundaries shows as a row that differs from the one DuckDB's own path stored.
const table = (id: `${string}.${string}`): TableDef => ({
  id,
  description: 't',
  uniqueKey: ['k'],
  columns: [req('k', 'INT64', ''), req('s', 'STRING', ''), opt('o', 'STRING', ''), opt('i', 'INT64', ''), opt('t', 'TIMESTAMP', ''), rep('l', 'STRING', '')],
});

// Pieces whose UTF-8 length differs from their UTF-16 length, or that DuckDB's string_t treats apart.
const PIECES = ['a', 'Z', '0', ' ', '\u0000', '\t', '\u007f', '\u0080', 'é', '€', '\u{1F600}', '\uD800', '\uDFFF', '"', '\\', '%', '#', '~', 'NULL', ''];
function randomString(r: () => number): string {
  const pick = r();
  // Lengths around the inline limit, in ASCII bytes: 0, 11, 12, 13, 14.
  if (pick < 0.3) return 'abcdefghijklmn'.slice(0, [0, 11, 12, 13, 14][Math.floor(r() * 5)]!);
  // 12 UTF-16 units that are more than 12 bytes, and 12 bytes that are fewer units.
  if (pick < 0.4) return r() < 0.5 ? 'é'.repeat(12) : 'é'.repeat(6);
  if (pick < 0.45) return 'x'.repeat(Math.floor(r() * 400));
  let s = '';
  const n = Math.floor(r() * 16);
  for (let k = 0; k < n; k++) s += PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}
/** What DuckDB stores for a JS string: its UTF-8 encoding (a lone surrogate becomes U+FFFD). */
const stored = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

function randomRows(r: () => number, n: number, nullShare: number, listMax: number): Record<string, unknown>[] {
  const maybe = <T>(v: () => T): T | null | undefined => (r() < nullShare ? (r() < 0.5 ? null : undefined) : v());
  return Array.from({ length: n }, (_, k) => ({
    k,
    s: randomString(r),
    o: maybe(() => randomString(r)),
    i: maybe(() => (r() < 0.5 ? Math.floor((r() - 0.5) * 2 ** 53) : BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 32)) * BigInt(Math.floor(r() * 2 ** 32))))),
    t: maybe(() => new Date(Math.floor((r() - 0.3) * 4e12))),
    l: maybe(() => Array.from({ length: Math.floor(r() * (listMax + 1)) }, () => (r() < nullShare ? null : randomString(r)))),
  }));
}

async function appendThroughClient(conn: DuckDBConnection, t: TableDef, rows: Record<string, unknown>[]): Promise<void> {
  const types = [BIGINT, VARCHAR, VARCHAR, BIGINT, TIMESTAMPTZ, LIST(VARCHAR)];
  const [schema, name] = t.id.split('.') as [string, string];
  const appender = await conn.createAppender(name, schema);
  const convert: ((v: unknown) => DuckDBValue)[] = [
    (v) => BigInt(v as number),
    (v) => v as string,
    (v) => (v == null ? null : (v as string)),
    (v) => (v == null ? null : BigInt(v as number | bigint)),
    (v) => (v == null ? null : timestampTZValue(BigInt((v as Date).getTime()) * 1000n)),
    (v) => listValue(v == null ? [] : (v as (string | null)[])),
  ];
  for (let offset = 0; offset < rows.length; offset += 2048) {
    const n = Math.min(2048, rows.length - offset);
    const chunk = DuckDBDataChunk.create(types, n);
    t.columns.forEach((c, ci) => chunk.setColumnValues(ci, rows.slice(offset, offset + n).map((row) => convert[ci]!(row[c.name]))));
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

describe('appendRows (bulk vectors) on seeded random rows', () => {
  let dir: string;
  let inst: DuckDBInstance;
  let conn: DuckDBConnection;
  const bulk = table('main.bulk');
  const client = table('main.client');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-append-random-'));
    inst = await DuckDBInstance.create(join(dir, 'a.duckdb'));
    conn = await inst.connect();
    await conn.run("SET TimeZone = 'UTC'");
  });
  after(async () => {
    conn.closeSync();
    inst.closeSync();
    await rm(dir, { recursive: true, force: true });
  });
  const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);

  // Row counts either side of a chunk (2,048) and of two; lists long enough that a chunk's list child
  // holds tens of thousands of strings, nulls from none to nearly all.
  const CASES = [
    { seed: 1, rows: 2047, nullShare: 0.1, listMax: 3 },
    { seed: 2, rows: 2048, nullShare: 0, listMax: 0 },
    { seed: 3, rows: 2049, nullShare: 0.95, listMax: 5 },
    { seed: 4, rows: 4097, nullShare: 0.3, listMax: 40 },
    { seed: 5, rows: 1, nullShare: 1, listMax: 1 },
  ];
  for (const c of CASES) {
    it(`seed ${c.seed}: ${c.rows} rows, ${c.nullShare * 100} % nulls, lists up to ${c.listMax}: the same rows and bytes as the client’s path`, async () => {
      await conn.run('DROP TABLE IF EXISTS main.bulk; DROP TABLE IF EXISTS main.client');
      await conn.run(duckdbDdl(bulk));
      await conn.run(duckdbDdl(client));
      const rows = randomRows(prng(c.seed), c.rows, c.nullShare, c.listMax);
      await appendRows(conn, bulk, rows);
      await appendThroughClient(conn, client, rows);
      assert.equal(await count('SELECT count(*) FROM main.bulk'), c.rows);
      assert.equal(await count('SELECT count(*) FROM (SELECT * FROM main.bulk EXCEPT ALL SELECT * FROM main.client)'), 0);
      assert.equal(await count('SELECT count(*) FROM (SELECT * FROM main.client EXCEPT ALL SELECT * FROM main.bulk)'), 0);
      assert.equal(
        await count(`SELECT count(*) FROM main.bulk b JOIN main.client c USING (k)
                     WHERE md5(b.s) <> md5(c.s) OR strlen(b.s) <> strlen(c.s)
                        OR (b.o IS NULL) <> (c.o IS NULL) OR md5(coalesce(b.o, '')) <> md5(coalesce(c.o, ''))
                        OR b.i IS DISTINCT FROM c.i OR b.t IS DISTINCT FROM c.t
                        OR len(b.l) <> len(c.l) OR list_transform(b.l, x -> coalesce(md5(x), '-')) <> list_transform(c.l, x -> coalesce(md5(x), '-'))`),
        0,
      );
      // And what it stored is what it was given, read back through JS.
      const out = (await conn.runAndReadAll('SELECT k, s, o, l FROM main.bulk ORDER BY k')).getRowObjectsJS();
      for (const r of out) {
        const src = rows[Number(r.k)]!;
        assert.equal(r.s, stored(src.s as string), `row ${r.k}: s`);
        assert.equal(r.o, src.o == null ? null : stored(src.o as string), `row ${r.k}: o`);
        assert.deepEqual(r.l, ((src.l ?? []) as (string | null)[]).map((x) => (x == null ? null : stored(x))), `row ${r.k}: l`);
      }
    });
  }
});
