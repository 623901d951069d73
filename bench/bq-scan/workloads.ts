// The hourly runs the scan figure models, and the statements each would issue on BigQuery:
// - typical: arrivals 98 % within the hour, 1.9 % within 3 days, 0.1 % up to 7 days, over all merchants;
// - quiet: only the current hour's arrivals;
// - backfill: the quiet hour plus one merchant's POS backfill of 100,000 events 7 days late (one
//   day of its events); `backfill_extra` is what it adds to the quiet run.
// The statements come from the runner's own plan (pipeline/marts/statements.ts, hourly-scan.ts).
import type { SqlParams } from '../../pipeline/ports.js';
import { ASSERTIONS, assertionSql } from '../../pipeline/marts/manifest.js';
import { scheduledScript } from '../../pipeline/marts/scheduled-script.js';
import { mulberry32 } from '../../test/support/random.js';
import type { Estimator, StatementEstimate } from './estimate.js';
import { merchantId, PROFILE_ASSUMPTIONS } from './profile.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface PlannedStatement {
  /** File stem of sql/ or the name of the script step (`declare window_start`). */
  stem: string;
  sql: string;
  params: SqlParams;
}

export type ScenarioName = 'typical' | 'quiet' | 'backfill';

export interface Scenario {
  name: ScenarioName;
  startedAt: Date;
  /** Distinct (merchant, event hour) cells the run's arrivals touched. */
  cells: { merchantId: string; hour: Date }[];
}

export const BACKFILL_MERCHANT = merchantId(0);

/**
 * Touched cells of a scenario. Expected shares of cells touched, from the arrival mix at 1 B/day
 * (42 M events an hour over 10,000 merchants): the last hour, every merchant; hours 2 to 72 back,
 * 1.9 % of 42 M over 71 hours × 10,000 merchants = 1.12 events a cell, 1 − e^−1.12 = 67 % of cells;
 * hours 73 to 168 back, 0.1 % of 42 M over 96 × 10,000 = 0.044 a cell, 4.3 % of cells.
 */
export function scenario(name: ScenarioName, startedAt = new Date(PROFILE_ASSUMPTIONS.run_started_at)): Scenario {
  const current = Math.floor(startedAt.getTime() / HOUR_MS) * HOUR_MS;
  const merchants = PROFILE_ASSUMPTIONS.merchants;
  const perHour = PROFILE_ASSUMPTIONS.events_per_day / 24;
  const cells: Scenario['cells'] = [];
  // seeded: the same cells every run
  const draw = mulberry32(14);
  for (let i = 0; i < merchants; i++) {
    cells.push({ merchantId: merchantId(i), hour: new Date(current - HOUR_MS) });
    if (name !== 'typical') continue;
    const recent = 1 - Math.exp(-(0.019 * perHour) / (71 * merchants));
    const old = 1 - Math.exp(-(0.001 * perHour) / (96 * merchants));
    for (let h = 2; h <= 168; h++) if (draw() < (h <= 72 ? recent : old)) cells.push({ merchantId: merchantId(i), hour: new Date(current - h * HOUR_MS) });
  }
  if (name === 'backfill') {
    // One day of the merchant's POS sales, 7 days late: the 24 hours starting 7 days back.
    for (let h = 0; h < 24; h++) cells.push({ merchantId: BACKFILL_MERCHANT, hour: new Date(current - 7 * DAY_MS + h * HOUR_MS) });
  }
  return { name, startedAt, cells };
}

export interface RunEstimate {
  bytes: number;
  by_statement: Record<string, number>;
  statements: { stem: string; estimate: StatementEstimate }[];
}

/** Bytes of a run: each statement estimated on its own, summed (a stem issued twice counts twice). */
export async function estimateRun(est: Estimator, statements: PlannedStatement[]): Promise<RunEstimate> {
  const by: Record<string, number> = {};
  const all: RunEstimate['statements'] = [];
  let bytes = 0;
  for (const st of statements) {
    const e = await est.estimate(st.sql, st.params);
    by[st.stem] = (by[st.stem] ?? 0) + e.bytes;
    bytes += e.bytes;
    all.push({ stem: st.stem, estimate: e });
  }
  return { bytes, by_statement: by, statements: all };
}

export interface HourlyScan {
  typical_bytes: number;
  backfill_extra_bytes: number;
  quiet_bytes: number;
  /** Per statement stem: bytes in each scenario. */
  by_statement: Record<string, { typical: number; quiet: number; backfill_extra: number }>;
}

/** The three scenarios through a statement planner. */
export async function hourlyScan(est: Estimator, plan: (s: Scenario) => PlannedStatement[] | Promise<PlannedStatement[]>): Promise<HourlyScan> {
  const run = async (n: ScenarioName) => estimateRun(est, await plan(scenario(n)));
  const typical = await run('typical');
  const quiet = await run('quiet');
  const backfill = await run('backfill');
  const stems = [...new Set([...Object.keys(typical.by_statement), ...Object.keys(quiet.by_statement), ...Object.keys(backfill.by_statement)])];
  const by_statement: HourlyScan['by_statement'] = {};
  for (const s of stems) {
    by_statement[s] = {
      typical: typical.by_statement[s] ?? 0,
      quiet: quiet.by_statement[s] ?? 0,
      backfill_extra: (backfill.by_statement[s] ?? 0) - (quiet.by_statement[s] ?? 0),
    };
  }
  return { typical_bytes: typical.bytes, backfill_extra_bytes: backfill.bytes - quiet.bytes, quiet_bytes: quiet.bytes, by_statement };
}
