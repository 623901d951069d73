// The cell rule is stated twice — in TypeScript for the local runner (windows.ts planCellWindows,
// through statements.ts planScheduledWindows) and in SQL for the BigQuery scheduled script
// (scheduled-script.ts), because the scheduled query runs no TypeScript. This test pins the two
// together: the script's own statements that compute inventory's all_from, each mart's cells and the
// windows are run by ZetaSQL's reference evaluator (BigQuery's semantics) over the same touched
// hours, watermarks, zones and promotions the TypeScript plan gets, and the windows — bounds, all_from,
// merchants, cells and merchant range, as each binds its statements — must be equal.
import assert from 'node:assert/strict';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { scheduledScript } from '../../../pipeline/marts/scheduled-script.js';
import { planScheduledWindows } from '../../../pipeline/marts/statements.js';
import { windowParams, type TouchedCell } from '../../../pipeline/marts/windows.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { evaluateZeta, registerEvaluationCatalog, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { fromZetaValue, type Cell, type FixtureRow } from '../../support/zetasql/values.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type ColumnSpec = [name: string, type: 'STRING' | 'TIMESTAMP'];
/** A temporary table of the script (no dataset: it lives in the script's session). */
const temp = (id: string, columns: ColumnSpec[]): TableDef => ({
  id: id as TableDef['id'],
  description: `the script's temporary table ${id}`,
  uniqueKey: [columns[0]![0]],
  columns: columns.map(([name, type]) => ({ name, type, mode: 'NULLABLE', description: name })),
});

/** The script's temporary tables, as the statements under test read them. */
const TEMP_TABLES: TableDef[] = [
  temp('touched', [['merchant_id', 'STRING'], ['event_hour', 'TIMESTAMP'], ['received_at', 'TIMESTAMP']]),
  temp('watermarks', [['mart', 'STRING'], ['since', 'TIMESTAMP'], ['finalized_through', 'TIMESTAMP']]),
  temp('zones', [['merchant_id', 'STRING'], ['time_zone', 'STRING']]),
  temp('promotions', [['merchant_id', 'STRING'], ['promo_starts_at', 'TIMESTAMP'], ['promo_ends_at', 'TIMESTAMP']]),
  temp('cells', [['mart', 'STRING'], ['merchant_id', 'STRING'], ['cell', 'STRING'], ['cell_start', 'TIMESTAMP'], ['cell_end', 'TIMESTAMP']]),
];

/** The statements of the script under test, with its variables bound as literals. */
function scriptParts(): { allFrom: string; cells: string[]; windows: string } {
  const script = scheduledScript();
  const allFrom = /\nset run_all_from = \(\n([\s\S]*?)\n\);\n/.exec(script)?.[1];
  const cells = [...script.matchAll(/\ninsert into cells\n([\s\S]*?);\n/g)].map((m) => m[1]!);
  const windows = /\ncreate temp table windows as\n([\s\S]*?);\n/.exec(script)?.[1];
  assert.ok(allFrom && windows, 'the script computes run_all_from and the windows');
  assert.equal(cells.length, MARTS.length, 'one cells statement per mart');
  return { allFrom, cells, windows };
}

const CELL_COLUMNS = ['mart', 'merchant_id', 'cell', 'cell_start', 'cell_end'];

type ZetaType = Parameters<typeof fromZetaValue>[0];
type ZetaValue = Parameters<typeof fromZetaValue>[1];

/** A result's rows as arrays, in column order (names of unnamed columns are empty). */
const positional = (r: ZetaResult): Cell[][] =>
  (r.content.tableData?.row ?? []).map((row) => (row.cell as unknown as ZetaValue[]).map((v, i) => fromZetaValue(r.table.columns[i]!.type as ZetaType, v)));

const bind = (sql: string, vars: Record<string, Date>): string =>
  Object.entries(vars).reduce((s, [name, d]) => s.replace(new RegExp(`\\b${name}\\b`, 'g'), `timestamp '${d.toISOString()}'`), sql);

interface Scenario {
  name: string;
  startedAt: Date;
  finalizedThrough: Date;
  cells: TouchedCell[];
  zones: Map<string, string[]>;
  promotions: { merchantId: string; startsAt: Date; endsAt: Date }[];
  /** What else the scenario's windows must show. */
  check?: (windows: Bound[]) => void;
}

/** Windows as they bind their statements (what the runner and the script pass as parameters). */
type Bound = { mart: string; window_start: number; window_end: number; all_from: number; merchants: string[]; cells: string[]; merchant_from: string; merchant_to: string };

const sortBound = (rows: Bound[]): Bound[] => [...rows].sort((a, b) => a.mart.localeCompare(b.mart) || a.window_start - b.window_start);

function planned(s: Scenario): Bound[] {
  const windows = planScheduledWindows({ startedAt: s.startedAt, finalizedThrough: s.finalizedThrough, cells: s.cells, zones: s.zones, promotions: s.promotions });
  return sortBound(
    windows.map((w) => {
      const p = windowParams(w);
      return {
        mart: w.mart,
        window_start: (p.window_start as Date).getTime(),
        window_end: (p.window_end as Date).getTime(),
        all_from: (p.all_from as Date).getTime(),
        merchants: p.merchants as string[],
        cells: p.cells as string[],
        merchant_from: p.merchant_from as string,
        merchant_to: p.merchant_to as string,
      };
    }),
  );
}

async function scripted(s: Scenario): Promise<Bound[]> {
  const parts = scriptParts();
  const runHour = new Date(Math.floor(s.startedAt.getTime() / HOUR) * HOUR);
  const rows: Record<string, FixtureRow[]> = {
    // every arrival received after every mart's watermark, so each mart sees all touched cells (as the plan is given)
    touched: s.cells.map((c) => ({ merchant_id: c.merchantId, event_hour: c.hour.toISOString(), received_at: s.startedAt.toISOString() })),
    watermarks: MARTS.map((m) => ({ mart: m.stem, since: new Date(s.startedAt.getTime() - DAY).toISOString(), finalized_through: s.finalizedThrough.toISOString() })),
    zones: [...s.zones].flatMap(([m, zs]) => zs.map((z) => ({ merchant_id: m, time_zone: z }))),
    promotions: s.promotions.map((p) => ({ merchant_id: p.merchantId, promo_starts_at: p.startsAt.toISOString(), promo_ends_at: p.endsAt.toISOString() })),
  };
  let catalog = await registerEvaluationCatalog(TEMP_TABLES, rows);
  const allFrom = await evaluateZeta(catalog, bind(parts.allFrom, { run_hour: runHour }), {});
  const runAllFrom = new Date(String(Object.values(allFrom.rows[0]!)[0]));
  const vars = { run_hour: runHour, run_all_from: runAllFrom };
  const cellRows: FixtureRow[] = [];
  for (const sql of parts.cells) {
    // `insert into cells select …` fills the table's columns by position (the SELECT leaves some unnamed)
    for (const row of positional(await evaluateZeta(catalog, bind(sql, vars), {}))) {
      cellRows.push(Object.fromEntries(CELL_COLUMNS.map((c, i) => [c, row[i] as string])));
    }
  }
  catalog = await registerEvaluationCatalog(TEMP_TABLES, { ...rows, cells: cellRows });
  const windows = await evaluateZeta(catalog, bind(parts.windows, vars), {});
  assert.deepStrictEqual(
    windows.columns.map((c) => c.name),
    ['mart', 'window_start', 'window_end', 'all_from', 'merchants', 'cells', 'merchant_from', 'merchant_to'],
  );
  return sortBound(
    positional(windows).map(([mart, start, end, from, merchants, cells, mFrom, mTo]) => ({
      mart: mart as string,
      window_start: Date.parse(start as string),
      window_end: Date.parse(end as string),
      all_from: Date.parse(from as string),
      merchants: merchants as string[],
      cells: cells as string[],
      merchant_from: mFrom as string,
      merchant_to: mTo as string,
    })),
  );
}

describe('the scheduled script\'s cell rule and the runner\'s', () => {
  const startedAt = new Date('2026-03-30T10:05:00Z');
  const hoursBack = (h: number) => new Date(Date.parse('2026-03-30T10:00:00Z') - h * HOUR);
  const zones = new Map([
    ['m-berlin', ['Europe/Berlin']],
    ['m-india', ['Asia/Kolkata', 'Asia/Kathmandu']],
    ['m-newyork', ['America/New_York', 'America/Los_Angeles']],
  ]);
  const scenarios: Scenario[] = [
    {
      name: 'recent hours of three merchants, an hour a week back, a late backfill, one in progress (a DST weekend in Europe)',
      startedAt,
      finalizedThrough: hoursBack(1),
      cells: [
        { merchantId: 'm-berlin', hour: hoursBack(1) },
        { merchantId: 'm-berlin', hour: hoursBack(2) },
        { merchantId: 'm-berlin', hour: hoursBack(30) },
        { merchantId: 'm-india', hour: hoursBack(3) },
        { merchantId: 'm-india', hour: hoursBack(9) },
        { merchantId: 'm-newyork', hour: hoursBack(5) },
        { merchantId: 'm-newyork', hour: hoursBack(7 * 24) },
        // a late backfill: the promotion baselines of the eight weeks after it are in the past
        { merchantId: 'm-india', hour: hoursBack(60 * 24 + 20) },
        { merchantId: 'm-berlin', hour: hoursBack(58 * 24) },
        { merchantId: 'm-newyork', hour: hoursBack(0) },
        // a merchant with no zone row: its days are UTC days
        { merchantId: 'm-nozone', hour: hoursBack(50) },
      ],
      zones,
      promotions: [
        { merchantId: 'm-india', startsAt: hoursBack(40), endsAt: new Date(hoursBack(0).getTime() + 3 * DAY) },
        { merchantId: 'm-berlin', startsAt: hoursBack(26), endsAt: hoursBack(25) },
      ],
    },
    {
      // Windows never cross an era (windows.ts WINDOW_ERA_DAYS, 3,650 days from the epoch; one began at
      // 2019-12-20T00:00Z): BigQuery refuses a job modifying over 4,000 partitions. The reference
      // evaluator generates at most 16,000 hours, so the split is shown at an era's start, not years back.
      name: 'cells on both sides of an era boundary (2019-12-20): every window split there, inventory\'s too',
      startedAt: new Date('2019-12-21T06:05:00Z'),
      finalizedThrough: new Date('2019-12-21T05:00:00Z'),
      cells: [
        { merchantId: 'm-berlin', hour: new Date('2019-12-16T09:00:00Z') },
        { merchantId: 'm-berlin', hour: new Date('2019-12-19T23:00:00Z') },
        { merchantId: 'm-india', hour: new Date('2019-12-20T00:00:00Z') },
        { merchantId: 'm-newyork', hour: new Date('2019-12-21T04:00:00Z') },
      ],
      zones,
      promotions: [],
      check: (windows) => {
        const inventory = windows.filter((w) => w.mart === 'mart_hourly_store_inventory').map((w) => [new Date(w.window_start).toISOString(), new Date(w.window_end).toISOString()]);
        assert.deepStrictEqual(inventory, [
          ['2019-12-16T09:00:00.000Z', '2019-12-20T00:00:00.000Z'],
          ['2019-12-20T00:00:00.000Z', '2019-12-21T04:00:00.000Z'],
          ['2019-12-21T04:00:00.000Z', '2019-12-21T06:00:00.000Z'],
        ]);
        const boundary = Date.parse('2019-12-20T00:00:00Z');
        const across = windows.filter((w) => w.mart.startsWith('mart_hourly') && w.window_start < boundary && w.window_end > boundary);
        assert.deepStrictEqual(across, [], 'hourly windows across the era boundary');
      },
    },
    {
      name: 'no touched cell, inventory extended from a finalized_through four hours back',
      startedAt,
      finalizedThrough: hoursBack(4),
      cells: [],
      zones,
      promotions: [],
    },
  ];

  for (const s of scenarios) {
    it(`gives the same windows: ${s.name}`, async () => {
      const sql = await scripted(s);
      const ts = planned(s);
      assert.ok(ts.length > 0, 'the scenario plans windows');
      assert.deepStrictEqual(sql, ts);
      s.check?.(sql);
    });
  }
});
