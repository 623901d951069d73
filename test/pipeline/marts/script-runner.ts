// Runs the BigQuery scheduled script (pipeline/marts/scheduled-script.ts) on the local DuckDB
// warehouse, statement by statement in the script's own order, so a test can stop it anywhere and see
// what the next run and export make of what it left. The planning part before the first mart loop
// (watermarks, touched cells, windows) is taken from the runner's plan (readRunInput,
// planScheduledWindows): scheduled-script.it.test.ts proves the script's SQL gives the same windows
// under BigQuery's semantics. From the first loop on, the script's text is executed: each
// `FOR w IN (… windows where mart = …) DO … END FOR` over the planned windows of that mart, each
// EXECUTE IMMEDIATE with its USING bindings evaluated, each IF … RAISE, and each plain statement with
// the script's variables and the loop's `w.*` bound as parameters (through the dialect layer, as every
// local statement).
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from '../../../pipeline/marts/config.js';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { prepareMarts, readRunInput } from '../../../pipeline/marts/runner.js';
import { scheduledScript } from '../../../pipeline/marts/scheduled-script.js';
import { planScheduledWindows } from '../../../pipeline/marts/statements.js';
import { sqlParams, windowParams, type MartWindow } from '../../../pipeline/marts/windows.js';
import type { SqlParams } from '../../../pipeline/ports.js';

const HOUR_MS = 3_600_000;

/** A statement the script ran, for a test to stop it after: the mart loop it is in (if any) and its text. */
export interface ScriptStep {
  mart?: string;
  /** The window's start, inside a loop. */
  windowStart?: Date;
  sql: string;
}

/** Splits script text into statements and loops at top-level `;`, skipping strings and `"""` blocks. */
function statements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('"""', i)) {
      i = text.indexOf('"""', i + 3) + 2;
      continue;
    }
    if (text[i] === "'") {
      i = text.indexOf("'", i + 1);
      continue;
    }
    if (text.startsWith('--', i)) {
      i = text.indexOf('\n', i);
      if (i < 0) break;
      continue;
    }
    const word = /^(for\s+w\s+in|end\s+for;|if\s|end\s+if;)/i.exec(text.slice(i, i + 12))?.[1]?.toLowerCase();
    if (word && /[\s;(]/.test(text[i - 1] ?? '\n')) {
      if (word.startsWith('for') || word.startsWith('if')) depth++;
      else {
        depth--;
        i += word.length - 1;
        if (depth === 0) {
          out.push(text.slice(start, i + 1).trim());
          start = i + 1;
        }
        continue;
      }
    }
    if (text[i] === ';' && depth === 0) {
      out.push(text.slice(start, i + 1).trim());
      start = i + 1;
    }
  }
  return out.map((s) => s.replace(/^(\s*--[^\n]*\n)+/, '').trim()).filter((s) => s !== '' && !/^--/.test(s));
}

/** Binds `w.<field>` (inside a loop) and the script's variables as parameters, outside strings and an INSERT's column list. */
function bind(sql: string, vars: SqlParams, w: SqlParams | undefined): { sql: string; params: SqlParams } {
  const params: SqlParams = {};
  let out = '';
  const columnList = /^insert\s+into\s+[\w.]+\s*\([^)]*\)/i.exec(sql)?.[0] ?? '';
  out += columnList;
  for (let i = columnList.length; i < sql.length; ) {
    if (sql[i] === "'") {
      const end = sql.indexOf("'", i + 1) + 1;
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?/.exec(sql.slice(i));
    if (!m || /[A-Za-z0-9_.@]/.test(sql[i - 1] ?? ' ')) {
      out += sql[i];
      i++;
      continue;
    }
    const name = m[0];
    if (w && name.startsWith('w.') && name.slice(2) in w) {
      params[`w_${name.slice(2)}`] = w[name.slice(2)]!;
      out += `@w_${name.slice(2)}`;
    } else if (!name.includes('.') && name in vars) {
      params[name] = vars[name]!;
      out += `@${name}`;
    } else out += name;
    i += name.length;
  }
  return { sql: out, params };
}

export interface ScriptRun {
  runId: string;
  startedAt: Date;
}

/**
 * Runs the scheduled script as started at `startedAt`. `stopAfter` is asked after each statement
 * runs; answering true makes the script fail there (as a RAISE, or any statement's error, would).
 */
export async function runScheduledScript(
  warehouse: LocalWarehouse,
  opts: { startedAt: Date; runId: string; config?: MartConfig; stopAfter?: (step: ScriptStep) => boolean },
): Promise<ScriptRun> {
  const config = opts.config ?? DEFAULT_MART_CONFIG;
  await prepareMarts(warehouse);
  const script = scheduledScript(config);
  const { startedAt, runId } = opts;
  const runHour = new Date(Math.floor(startedAt.getTime() / HOUR_MS) * HOUR_MS);
  const input = await readRunInput(warehouse, startedAt, config);
  const windows = planScheduledWindows({ startedAt, finalizedThrough: input.finalizedThrough, cells: input.cellsByMart, zones: input.zones, promotions: input.promotions });
  const vars: SqlParams = {
    run_id: runId,
    run_started_at: startedAt,
    run_hour: runHour,
    run_horizon_days: config.horizonDays,
    run_since: new Date(startedAt.getTime() - config.horizonDays * 24 * HOUR_MS),
    run_arrivals_from: input.arrivalsFrom,
    bad_rows: 0,
  };
  const fields = (w: MartWindow): SqlParams => ({ mart: w.mart, ...windowParams(w) });
  // The script's temporary table of windows, as the statements after the loops read it.
  await warehouse.run('create or replace temp table windows (mart varchar, window_start timestamptz, window_end timestamptz, all_from timestamptz, merchants varchar[], cells varchar[], merchant_from varchar, merchant_to varchar)');
  for (const w of windows) {
    const f = fields(w);
    await warehouse.run(
      'insert into windows values (@mart, @window_start, @window_end, @all_from, @merchants, @cells, @merchant_from, @merchant_to)',
      f,
    );
  }
  const firstLoop = script.indexOf(`-- ${MARTS[0]!.stem}\nfor w in`);
  if (firstLoop < 0) throw new Error('the script has no loop over the first mart\'s windows');

  const stop = (step: ScriptStep) => {
    const what = step.sql.replace(/^execute immediate """\s*/i, '').split('\n').find((l) => l.trim() !== '' && !l.startsWith('--'));
    if (opts.stopAfter?.(step)) throw new Error(`injected: the script stops after ${what}${step.windowStart ? ` (window ${step.windowStart.toISOString()})` : ''}`);
  };
  const runOne = async (st: string, w?: MartWindow): Promise<void> => {
    const step = { ...(w ? { mart: w.mart, windowStart: w.windowStart } : {}), sql: st };
    const wf = w ? fields(w) : undefined;
    const immediate = /^execute immediate """([\s\S]*?)"""\s*(?:into\s+(\w+)\s+)?using\s+([\s\S]*);$/i.exec(st);
    if (immediate) {
      const [, inner, into, using] = immediate;
      const params: SqlParams = {};
      for (const part of using!.split(/,\s*(?![^()]*\))/)) {
        const [, expr, name] = /^([\s\S]+)\s+as\s+(\w+)$/i.exec(part.trim())!;
        const e = expr!.trim();
        if (wf && e.startsWith('w.') && e.slice(2) in wf) params[name!] = wf[e.slice(2)]!;
        else if (e in vars) params[name!] = vars[e]!;
        else {
          const b = bind(e, vars, wf);
          const [row] = await warehouse.query<{ v: unknown }>(`select ${b.sql} as v`, b.params);
          params[name!] = row!.v as SqlParams[string];
        }
      }
      const sql = inner!.trim();
      if (into) {
        const [row] = await warehouse.query<Record<string, unknown>>(sql, sqlParams(sql, params));
        vars[into] = Number(Object.values(row!)[0]);
      } else await warehouse.run(sql, sqlParams(sql, params));
      stop(step);
      return;
    }
    const raise = /^if\s+([\s\S]*?)\s+then\s+raise\s+using\s+message\s*=\s*([\s\S]*?);\s*end if;$/i.exec(st);
    if (raise) {
      const b = bind(raise[1]!, vars, wf);
      const [row] = await warehouse.query<{ v: boolean }>(`select ${b.sql} as v`, b.params);
      if (row!.v) throw new Error(`RAISE: ${raise[2]}`);
      return;
    }
    if (/^(for|if|declare|set|create)\b/i.test(st)) throw new Error(`a statement the script runner does not know: ${st.slice(0, 80)}`);
    const b = bind(st.replace(/;$/, ''), vars, wf);
    await warehouse.run(b.sql, b.params);
    stop(step);
  };

  for (const st of statements(script.slice(firstLoop))) {
    const loop = /^for\s+w\s+in\s+\(select \* from windows where mart = '(\w+)' order by window_start\)\s+do\b([\s\S]*)end for;$/i.exec(st);
    if (!loop) {
      await runOne(st);
      continue;
    }
    const body = statements(loop[2]!);
    const mine = windows.filter((w) => w.mart === loop[1]).sort((a, b) => a.windowStart.getTime() - b.windowStart.getTime());
    for (const w of mine) for (const inner of body) await runOne(inner, w);
  }
  return { runId, startedAt };
}
