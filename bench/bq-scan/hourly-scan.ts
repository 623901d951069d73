// `bq_hourly_scan`: what an hourly run reads on BigQuery at 1 B events a day, per the estimator,
// for the typical, quiet and backfill hours, statement by statement, beside the figure of the
// scheduled script before the cell-window rewrite (bq-hourly-scan-before.json, same profile).
// `npm run bench -- --only bq_hourly_scan` runs this section alone and updates bench/results/latest.json
// in place; `npm run bench` runs it with the rest.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { viewDefinition } from '../../test/support/zetasql/statements.js';
import { analyzeSqlFiles, listSqlFiles } from '../../test/support/zetasql/analyze.js';
import { loadSchemaTables } from '../../test/support/zetasql/catalog.js';
import { stopZetaSql } from '../../test/support/zetasql/server.js';
import { createEstimator, type Estimator } from './estimate.js';
import { billionEventProfile, PROFILE_ASSUMPTIONS } from './profile.js';
import { INVENTORY_MART, changedRowsSql, inventoryExtentSql, inventoryPointsSql, snapshotSql, vanishedRowsSql } from '../../pipeline/marts/changes.js';
import { shardParams } from '../../pipeline/marts/exporter.js';
import { EXPORT_LOOKBACK_DAYS, LOOKBACK_SQL } from '../../pipeline/marts/export-log.js';
import { martSpec } from '../../pipeline/marts/manifest.js';
import { martParams, scheduledRunStatements } from '../../pipeline/marts/statements.js';
import { sqlParams, type MartWindow } from '../../pipeline/marts/windows.js';
import { hourlyScan, type HourlyScan, type PlannedStatement, type Scenario } from './workloads.js';

export const GOALS = { typical_bytes: 60e9, backfill_extra_bytes: 50e9, quiet_bytes: 15e9 } as const;
const BEFORE_FILE = join(import.meta.dirname, 'bq-hourly-scan-before.json');

/** The estimator over the schema's tables and the staging views, with the 1 B/day profile. */
export async function openEstimator(): Promise<Estimator> {
  const staging = listSqlFiles().filter((f) => f.path.startsWith('sql/staging/'));
  const analysis = await analyzeSqlFiles(staging);
  for (const [file, r] of analysis.results) if (!r.ok) throw new Error(`${file}: ${r.error.message}`);
  const views = new Map([...analysis.viewSql].map(([id, sql]) => [id, viewDefinition(sql)!.select]));
  return createEstimator({ catalogId: analysis.catalogId, views, profile: billionEventProfile(await loadSchemaTables()) });
}

/** Time zone of every merchant and store in the profile (daily marts take local days in it). */
const PROFILE_ZONE = 'Europe/Berlin';

const RUN_ID = '00000000-0000-4000-8000-000000000000';

/**
 * What a run's export reads of each rebuilt window of a mart with series (the export job, one shard of
 * every merchant; exporter.ts exportWindowChanges): the changed rows and the vanished keys against the
 * window's snapshot, or inventory's change points and extent.
 */
function exportReads(w: MartWindow, startedAt: Date): PlannedStatement[] {
  const params = { ...martParams(w), ...shardParams({ merchantFrom: '' }), run_id: RUN_ID, run_started_at: startedAt };
  const reads: [string, string][] =
    w.mart === INVENTORY_MART
      ? [['points', inventoryPointsSql()], ['extent', inventoryExtentSql()]]
      : [['vanished', vanishedRowsSql(w.mart)], ['changed', changedRowsSql(w.mart)]];
  return reads.map(([what, sql]) => ({ stem: `${w.mart} export ${what}`, sql, params: sqlParams(sql, params) }));
}

/**
 * The statements an hourly run issues, for a scenario: the runner's own plan (statements.ts), with
 * the snapshot the script takes of each series window before its rebuild (changes.ts snapshotSql)
 * and the export job's reads of the run after it, and of the week's run and export logs.
 */
export function plannedStatements(s: Scenario): PlannedStatement[] {
  const zones = new Map([...new Set(s.cells.map((c) => c.merchantId))].map((m) => [m, [PROFILE_ZONE]]));
  const run = scheduledRunStatements({ startedAt: s.startedAt, cells: s.cells, zones, arrivalsFrom: new Date(s.startedAt.getTime() - 3_600_000) });
  const out: PlannedStatement[] = [];
  const exports: PlannedStatement[] = [];
  for (const st of run) {
    if (st.role === 'mart' && st.window && martSpec(st.stem).series) {
      const snapshot = snapshotSql(st.stem);
      out.push({ stem: `${st.stem} snapshot`, sql: snapshot, params: sqlParams(snapshot, { ...martParams(st.window), run_id: RUN_ID, run_started_at: s.startedAt }) });
      exports.push(...exportReads(st.window, s.startedAt));
    }
    out.push({ stem: st.stem, sql: st.sql, params: st.params });
  }
  // What each export task reads of the week's run log and export log (the earlier runs it exports too).
  const lookback = { since: new Date(s.startedAt.getTime() - EXPORT_LOOKBACK_DAYS * 86_400_000), before: s.startedAt };
  for (const [what, sql] of Object.entries(LOOKBACK_SQL)) exports.push({ stem: `export lookback ${what}`, sql, params: sqlParams(sql, lookback) });
  return [...out, ...exports];
}

export interface BqHourlyScan extends HourlyScan {
  profile: typeof PROFILE_ASSUMPTIONS & { goals: typeof GOALS };
  before?: HourlyScan & { source: string };
}

export async function measureHourlyScan(est?: Estimator): Promise<BqHourlyScan> {
  const estimator = est ?? (await openEstimator());
  const now = await hourlyScan(estimator, plannedStatements);
  let before: BqHourlyScan['before'];
  try {
    before = JSON.parse(await readFile(BEFORE_FILE, 'utf8')) as BqHourlyScan['before'];
  } catch {
    before = undefined;
  }
  return { ...now, profile: { ...PROFILE_ASSUMPTIONS, goals: GOALS }, ...(before ? { before } : {}) };
}

const GB = 1e9;
const gb = (b: number) => `${(b / GB).toLocaleString('en-US', { maximumFractionDigits: b < 100 * GB ? 1 : 0 })} GB`;

/** Lines for the printout: the three figures against their goals, then one line per statement. */
export function formatHourlyScan(r: BqHourlyScan): string {
  const rows: string[][] = [['bq_hourly_scan', 'now', 'before', 'goal']];
  for (const k of ['typical_bytes', 'quiet_bytes', 'backfill_extra_bytes'] as const) rows.push([k, gb(r[k]), r.before ? gb(r.before[k]) : '—', `≤ ${gb(GOALS[k])}`]);
  rows.push(['statement (typical / quiet / backfill extra)', '', '', '']);
  const stems = [...new Set([...Object.keys(r.by_statement), ...Object.keys(r.before?.by_statement ?? {})])];
  for (const s of stems) {
    const n = r.by_statement[s];
    const b = r.before?.by_statement[s];
    const f = (x?: { typical: number; quiet: number; backfill_extra: number }) => (x ? `${gb(x.typical)} / ${gb(x.quiet)} / ${gb(x.backfill_extra)}` : '—');
    rows.push([`  ${s}`, f(n), f(b), '']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npx tsx bench/bq-scan/hourly-scan.ts --write-before`: records the current statements' figure as
  // the "before" the next change is compared with (`npm run bench -- --only bq_hourly_scan` prints both).
  const { values } = parseArgs({ options: { 'write-before': { type: 'boolean', default: false } }, strict: true });
  try {
    const r = await measureHourlyScan();
    if (values['write-before']) {
      const { typical_bytes, backfill_extra_bytes, quiet_bytes, by_statement } = r;
      const source = 'the statements plannedStatements() gave when this was recorded (--write-before)';
      await writeFile(BEFORE_FILE, JSON.stringify({ source, typical_bytes, backfill_extra_bytes, quiet_bytes, by_statement }, null, 2) + '\n');
    }
    process.stdout.write(`${formatHourlyScan(r)}\n`);
  } finally {
    stopZetaSql();
  }
}
