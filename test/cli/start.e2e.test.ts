// The `tillstream` command end to end in a temporary data directory: start --once, ingest, keys, usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, sumRejected, type Summary } from './support.js';

function tillstream(dataDir: string, args: string[]): { status: number | null; stdout: string; stderr: string; last: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, TILLSTREAM_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 240_000 });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] ?? '' };
}

const utcHour = () => Math.floor(Date.now() / 3_600_000);

/**
 * Mart rows of two runs must be equal. Closing inventory has a row for every hour up to the run's hour, so
 * when a UTC hour ended between the runs that mart legitimately grew by the new hour's rows.
 */
function assertSameMarts(after: Summary, before: Summary, hourChanged: boolean): void {
  if (!hourChanged) return assert.deepEqual(after.mart_rows, before.mart_rows);
  const { mart_hourly_store_inventory: a, ...restAfter } = after.mart_rows!;
  const { mart_hourly_store_inventory: b, ...restBefore } = before.mart_rows!;
  assert.deepEqual(restAfter, restBefore);
  assert.ok(a! >= b!);
}

describe('tillstream start --once and ingest', () => {
  let dir: string;
  let dataDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-'));
    dataDir = join(dir, 'data');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let first: Summary;
  let firstHour: number;
  it('seeds the demo once, prints the summary as the last stdout line and exits 0 with the invariant', () => {
    firstHour = utcHour();
    const r = tillstream(dataDir, ['start', '--once', '--events', '3000']);
    assert.equal(r.status, 0, r.stderr);
    first = JSON.parse(r.last) as Summary;
    assert.ok(first.published >= 3000);
    assert.equal(first.published, first.accepted + sumRejected(first) + first.duplicates);
    assert.ok(first.accepted > 0 && first.duplicates > 0 && sumRejected(first) > 0);
    for (const n of Object.values(first.rejected)) assert.ok(n > 0, 'zero counts are omitted');
    assert.ok(first.mart_rows && Object.values(first.mart_rows).every((n) => n > 0), JSON.stringify(first.mart_rows));
    assert.ok((first.series_cells ?? 0) > 0);
    assert.match(r.stderr, /read key for demo merchant \S+ \(shown once\): tsr_/);
  });

  it('does not seed again: a second run publishes nothing and leaves the marts as they were', () => {
    const hour = utcHour();
    const r = tillstream(dataDir, ['start', '--once']);
    assert.equal(r.status, 0, r.stderr);
    const again = JSON.parse(r.last) as Summary;
    assert.deepEqual({ ...again, mart_rows: undefined, series_cells: undefined }, { published: 0, accepted: 0, rejected: {}, duplicates: 0, mart_rows: undefined, series_cells: undefined });
    assertSameMarts(again, first, hour !== firstHour);
  });

  it('loading the same POS file twice adds duplicates and changes no mart', async () => {
    const file = join(dir, 'pos.ndjson');
    const gen = tillstream(dataDir, ['generate', '--out', file, '--events', '500', '--seed', 'pos-twice']);
    assert.equal(gen.status, 0, gen.stderr);
    const dims = tillstream(dataDir, ['dimensions', 'load', join(dir, 'pos.dimensions.json')]);
    assert.equal(dims.status, 0, dims.stderr);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');

    const once = tillstream(dataDir, ['ingest', '--file', file, '--source', 'pos']);
    assert.equal(once.status, 0, once.stderr);
    const s1 = JSON.parse(once.last) as Summary;
    assert.equal(s1.published, lines.length);
    assert.equal(s1.published, s1.accepted + sumRejected(s1) + s1.duplicates);
    const hour1 = utcHour();
    const marts1 = JSON.parse(tillstream(dataDir, ['start', '--once']).last) as Summary;

    const twice = tillstream(dataDir, ['ingest', '--file', file, '--source', 'pos']);
    assert.equal(twice.status, 0, twice.stderr);
    const s2 = JSON.parse(twice.last) as Summary;
    assert.equal(s2.published, lines.length);
    assert.equal(s2.accepted, 0);
    // Every entry accepted the first time is now a duplicate; rejected entries are rejected again.
    assert.equal(s2.duplicates, s1.accepted + s1.duplicates);
    let before = marts1;
    let after = JSON.parse(tillstream(dataDir, ['start', '--once']).last) as Summary;
    if (utcHour() !== hour1) {
      // The hour in progress ended between the two builds, so its orders joined the hourly marts for
      // that reason alone: load the file a third time within one hour and compare that.
      const hour2 = utcHour();
      before = JSON.parse(tillstream(dataDir, ['start', '--once']).last) as Summary;
      const thrice = JSON.parse(tillstream(dataDir, ['ingest', '--file', file, '--source', 'pos']).last) as Summary;
      assert.equal(thrice.accepted, 0);
      after = JSON.parse(tillstream(dataDir, ['start', '--once']).last) as Summary;
      assert.equal(utcHour(), hour2, 'a test of a few seconds does not span two hour boundaries');
    }
    assert.deepEqual(after.mart_rows, before.mart_rows);
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    const bad = join(dir, 'bad-dims.json');
    await writeFile(bad, JSON.stringify({ merchants: [{ id: 'm', name: 'M', time_zone: 'Mars/Base', currency: 'EUR' }] }));
    const r = tillstream(dataDir, ['dimensions', 'load', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /merchants\.0\.time_zone: must be an IANA time zone/);
    const k = tillstream(dataDir, ['keys', 'create', '--kind', 'read', '--merchant', 'nobody']);
    assert.equal(k.status, 2);
    assert.match(k.stderr, /unknown merchant nobody/);
  });

  it('creates, lists and revokes keys without ever printing a stored key', () => {
    const c = tillstream(dataDir, ['keys', 'create', '--kind', 'admin']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.last, /^tsa_[A-Za-z0-9_-]{43}$/);
    const list = tillstream(dataDir, ['keys', 'list']);
    assert.ok(!list.stdout.includes(c.last));
    const id = list.stdout.split('\n').find((l) => l.includes('\tadmin\t'))!.split('\t')[0]!;
    assert.equal(tillstream(dataDir, ['keys', 'revoke', id]).status, 0);
    assert.match(tillstream(dataDir, ['keys', 'list']).stdout, new RegExp(`${id}\\tadmin\\t-\\t\\S+\\t-\\t20`));
  });
});
