// The local day each daily mart puts an event in, against days computed here from the platform's own
// time-zone database (Intl), not by either engine: events one second either side of local midnights
// in zones off the hour (Asia/Kolkata +05:30, Asia/Kathmandu +05:45), in Australia/Lord_Howe around
// its 30-minute DST switches (a 24.5-hour and a 23.5-hour day), in America/New_York around its 23- and
// 25-hour days, and in Africa/Monrovia in 1971, whose offset (−00:44:30) puts local midnight inside a
// UTC quarter hour. Each daily mart's MERGE source runs in DuckDB (the dialect layer's translation) and
// in ZetaSQL's reference evaluator, for a wide window around each midnight, the UTC hour holding it, and
// a scheduled run's cell of one local day; both must give the days, counts and exact distinct visitors
// computed here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSql } from '../../../pipeline/marts/manifest.js';
import { toDuckDb } from '../../../pipeline/sql/dialect.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { loadSchemaTables } from '../../support/zetasql/catalog.js';
import { duckParams, openFixtureDb, runDuckQuery, type DuckFixtureDb } from '../../support/zetasql/duckdb.js';
import { evaluateZeta, registerEvaluationCatalog, type EvaluationCatalog, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { windowBindings, type Window } from '../../support/zetasql/fixtures.js';
import { mergeSourceSelect, viewDefinition } from '../../support/zetasql/statements.js';
import type { FixtureRow, ResultSet } from '../../support/zetasql/values.js';

const MERCHANTS = [
  { merchant_id: 'm_kolkata', time_zone: 'Asia/Kolkata' },
  { merchant_id: 'm_kathmandu', time_zone: 'Asia/Kathmandu' },
  { merchant_id: 'm_lord_howe', time_zone: 'Australia/Lord_Howe' },
  { merchant_id: 'm_new_york', time_zone: 'America/New_York' },
  { merchant_id: 'm_monrovia', time_zone: 'Africa/Monrovia' },
];
/** Each merchant's store in its own zone, and a New York merchant's store on Lord Howe Island (store days in the store's zone). */
const STORES = [
  ...MERCHANTS.map((m) => ({ merchant_id: m.merchant_id, store_id: `${m.merchant_id}_main`, time_zone: m.time_zone })),
  { merchant_id: 'm_new_york', store_id: 'm_new_york_island', time_zone: 'Australia/Lord_Howe' },
];

/** Instants of local midnight (UTC), each checked below to be one. */
const MIDNIGHTS: { merchant: string; at: string; note: string }[] = [
  { merchant: 'm_kolkata', at: '2026-03-07T18:30:00Z', note: '+05:30' },
  { merchant: 'm_kathmandu', at: '2026-03-07T18:15:00Z', note: '+05:45' },
  { merchant: 'm_lord_howe', at: '2026-04-04T13:00:00Z', note: 'start of 2026-04-05, 24.5 hours (+11:00 → +10:30 at 02:00)' },
  { merchant: 'm_lord_howe', at: '2026-04-05T13:30:00Z', note: 'end of 2026-04-05' },
  { merchant: 'm_lord_howe', at: '2026-10-03T13:30:00Z', note: 'start of 2026-10-04, 23.5 hours (+10:30 → +11:00 at 02:00)' },
  { merchant: 'm_lord_howe', at: '2026-10-04T13:00:00Z', note: 'end of 2026-10-04' },
  { merchant: 'm_new_york', at: '2026-03-08T05:00:00Z', note: 'start of 2026-03-08, 23 hours' },
  { merchant: 'm_new_york', at: '2026-03-09T04:00:00Z', note: 'end of 2026-03-08' },
  { merchant: 'm_new_york', at: '2026-11-01T04:00:00Z', note: 'start of 2026-11-01, 25 hours' },
  { merchant: 'm_new_york', at: '2026-11-02T05:00:00Z', note: 'end of 2026-11-01' },
  { merchant: 'm_monrovia', at: '1971-06-01T00:44:30Z', note: '−00:44:30, midnight inside a UTC quarter hour' },
];
/** The DST switches themselves (local days do not change there, the offset does). */
const SWITCHES: { merchant: string; at: string }[] = [
  { merchant: 'm_lord_howe', at: '2026-04-04T15:00:00Z' },
  { merchant: 'm_lord_howe', at: '2026-10-03T15:30:00Z' },
  { merchant: 'm_new_york', at: '2026-03-08T07:00:00Z' },
  { merchant: 'm_new_york', at: '2026-11-01T06:00:00Z' },
];
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const zoneOf = (merchant: string) => MERCHANTS.find((m) => m.merchant_id === merchant)!.time_zone;
const localDates = new Map<string, Intl.DateTimeFormat>();
/** The local date of an instant in a zone, from Intl (ICU's copy of the tz database). */
function localDate(ms: number, zone: string): string {
  let f = localDates.get(zone);
  if (!f) localDates.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(ms));
}
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

interface Placed {
  merchant: string;
  store: string;
  storeZone: string;
  ms: number;
  visitor: string;
  session: string;
}

/** Events one second and seven and a half minutes either side of each midnight, and at it; ±1 s around each switch. */
function placements(): Placed[] {
  const out: Placed[] = [];
  let n = 0;
  const add = (merchant: string, ms: number) => {
    // alternate the merchant's stores so the island store gets events at New York's midnights too
    const stores = STORES.filter((s) => s.merchant_id === merchant);
    const store = stores[n % stores.length]!;
    out.push({ merchant, store: store.store_id, storeZone: store.time_zone, ms, visitor: `v${n % 3}`, session: `s${n % 5}` });
    n++;
  };
  for (const m of MIDNIGHTS) for (const d of [-7.5 * MINUTE, -SECOND, 0, SECOND, 7.5 * MINUTE]) add(m.merchant, Date.parse(m.at) + d);
  for (const s of SWITCHES) for (const d of [-SECOND, 0, SECOND]) add(s.merchant, Date.parse(s.at) + d);
  return out;
}

function rawRows(placed: Placed[]): FixtureRow[] {
  const rows: FixtureRow[] = [];
  placed.forEach((p, i) => {
    const common = {
      merchant_id: p.merchant,
      source: 'web',
      schema_version: 1,
      event_ts: iso(p.ms),
      received_at: iso(p.ms + SECOND),
      message_id: `msg-${i}`,
      merchant_time_zone: zoneOf(p.merchant),
      promo_ids: [],
      promo_store_ids: [],
      body_json: '{}',
    };
    rows.push({
      ...common,
      event_id: `pv-${i}`,
      event_type: 'page_view',
      entry_index: 0,
      url: 'https://shop.example/',
      referrer: null,
      visitor_id: p.visitor,
      session_id: p.session,
      device: 'mobile',
      country: 'NP',
    });
    rows.push({
      ...common,
      event_id: `o-${i}`,
      event_type: 'order',
      source: 'pos',
      entry_index: 1,
      store_id: p.store,
      store_time_zone: p.storeZone,
      order_id: `order-${i}`,
      order_status: 'completed',
      channel: 'pos',
      fulfilment: 'pickup',
      currency: 'USD',
      gross_minor: 1000,
      discount_minor: 0,
      net_minor: 1000,
      refund_minor: 0,
      item_count: 1,
    });
  });
  return rows;
}

type Expected = Record<string, string | bigint>;

/** What a daily mart must hold for a window: its rows' keys and counts, from the local dates above. */
function expected(mart: string, placed: Placed[], w: Window): Expected[] {
  const start = Date.parse(w.window_start);
  const end = Date.parse(w.window_end);
  const cells = new Set(w.cells as string[]);
  const merchants = new Set(w.merchants as string[]);
  const allFrom = Date.parse(w.all_from as string);
  const byStore = mart === 'mart_daily_store_sales';
  const groups = new Map<string, { row: Expected; events: number; visitors: Set<string>; sessions: Set<string> }>();
  for (const p of placed) {
    const zone = byStore ? p.storeZone : zoneOf(p.merchant);
    const day = localDate(p.ms, zone);
    // the local days overlapping [start, end) in the row's zone
    if (day < localDate(start, zone) || day > localDate(end - 1, zone)) continue;
    // a scheduled run's window reads the merchants of its cells only
    if (p.merchant < (w.merchant_from as string) || p.merchant > (w.merchant_to as string)) continue;
    if (!(day >= localDate(allFrom, zone) || (merchants.has(p.merchant) && cells.has(`${p.merchant}|${day}`)))) continue;
    const key: Expected = byStore ? { merchant_id: p.merchant, store_id: p.store, local_date: day } : { merchant_id: p.merchant, local_date: day };
    const id = JSON.stringify(key);
    const g = groups.get(id) ?? groups.set(id, { row: key, events: 0, visitors: new Set(), sessions: new Set() }).get(id)!;
    g.events++;
    g.visitors.add(p.visitor);
    g.sessions.add(p.session);
  }
  return sortRows(
    [...groups.values()].map((g) => {
      const count = BigInt(g.events);
      if (mart === 'mart_daily_merchant_traffic') return { ...g.row, page_views: count, visitors: BigInt(g.visitors.size), sessions: BigInt(g.sessions.size) };
      if (mart === 'mart_daily_merchant_traffic_breakdown') return { ...g.row, dimension: 'page', dimension_value: '/', page_views: count, visitors: BigInt(g.visitors.size), sessions: BigInt(g.sessions.size) };
      return { ...g.row, orders: count };
    }),
  );
}

const sortRows = (rows: Expected[]) => rows.sort((a, b) => (JSON.stringify(a, big) < JSON.stringify(b, big) ? -1 : 1));
const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** A result's rows in the shape of `expected`: its columns, and for the breakdown its page dimension only. */
function project(mart: string, result: ResultSet, like: string[]): Expected[] {
  const rows = mart === 'mart_daily_merchant_traffic_breakdown' ? result.rows.filter((r) => r.dimension === 'page') : result.rows;
  return sortRows(rows.map((r) => Object.fromEntries(like.map((c) => [c, r[c] as string | bigint]))));
}

const COLUMNS: Record<string, string[]> = {
  mart_daily_merchant_traffic: ['merchant_id', 'local_date', 'page_views', 'visitors', 'sessions'],
  mart_daily_merchant_traffic_breakdown: ['merchant_id', 'dimension', 'dimension_value', 'local_date', 'page_views', 'visitors', 'sessions'],
  mart_daily_merchant_sales: ['merchant_id', 'local_date', 'orders'],
  mart_daily_store_sales: ['merchant_id', 'store_id', 'local_date', 'orders'],
};

/** A wide window around each midnight, the UTC hour holding it, and a scheduled run's cell of the day it starts. */
function windows(): { name: string; window: Window }[] {
  return MIDNIGHTS.flatMap((m) => {
    const at = Date.parse(m.at);
    const hour = Math.floor(at / HOUR) * HOUR;
    const day = localDate(at, zoneOf(m.merchant));
    return [
      { name: `${m.merchant} ${m.at} (${m.note}), two days either side`, window: windowBindings(iso(hour - 2 * DAY), iso(hour + 2 * DAY)) },
      { name: `${m.merchant} ${m.at}, its UTC hour`, window: windowBindings(iso(hour), iso(hour + HOUR)) },
      {
        name: `${m.merchant} ${m.at}, the cell ${m.merchant}|${day}`,
        window: windowBindings(iso(hour - DAY), iso(hour + DAY), { merchants: [m.merchant], cells: [`${m.merchant}|${day}`], allFrom: new Date(hour + DAY) }),
      },
    ];
  });
}

describe('daily marts: the local day of events around midnights, DST switches and offsets off the hour', () => {
  const placed = placements();
  let duck: DuckFixtureDb;
  let catalog: EvaluationCatalog;
  let schema: TableDef[];

  before(async () => {
    schema = await loadSchemaTables();
    const tables = { 'raw.events': rawRows(placed) };
    duck = await openFixtureDb(schema, tables);
    await duck.connection.run('CREATE SCHEMA IF NOT EXISTS staging');
    catalog = await registerEvaluationCatalog(schema, tables);
    const views: ZetaResult[] = [];
    // stg_events first: the other two read it
    for (const stem of ['stg_events', 'stg_orders', 'stg_page_views']) {
      const sql = readFileSync(join(import.meta.dirname, '..', '..', '..', 'sql', 'staging', `${stem}.sql`), 'utf8');
      const view = viewDefinition(sql)!;
      views.push(await evaluateZeta(catalog, view.select, {}, view.id));
      await duck.connection.run(toDuckDb(sql));
      catalog = await registerEvaluationCatalog(schema, tables, views);
    }
  });

  after(() => duck?.close());

  it('places its events where the local day changes (the listed instants are local midnights)', () => {
    for (const m of MIDNIGHTS) {
      const zone = zoneOf(m.merchant);
      const at = Date.parse(m.at);
      assert.notEqual(localDate(at - 1, zone), localDate(at, zone), `${m.at} is no local midnight in ${zone}`);
    }
    // Monrovia's midnight is inside a UTC quarter hour: a mart that took one day per quarter hour would misplace one of its events
    assert.notEqual(Date.parse('1971-06-01T00:44:30Z') % (15 * MINUTE), 0);
  });

  for (const mart of Object.keys(COLUMNS)) {
    it(`${mart}: every window's rows fall on the local days computed from the tz database, in both engines`, async () => {
      const select = mergeSourceSelect(readSql(`sql/marts/${mart}.sql`));
      const duckSql = toDuckDb(select);
      let checked = 0;
      for (const { name, window } of windows()) {
        const want = expected(mart, placed, window);
        const fromDuck = await runDuckQuery(duck, duckSql, Object.fromEntries(Object.entries(duckParams(window)).filter(([k]) => new RegExp(`\\$${k}\\b`).test(duckSql))));
        const fromZeta = await evaluateZeta(catalog, select, window);
        assert.deepEqual(project(mart, fromDuck, COLUMNS[mart]!), want, `DuckDB, window ${name}`);
        assert.deepEqual(project(mart, fromZeta, COLUMNS[mart]!), want, `ZetaSQL, window ${name}`);
        checked += want.length;
      }
      assert.ok(checked > 0, 'no window held a row');
    });
  }
});
