// The offline twin of the --max-bytes dry-run gate: what a BigQuery statement, with its parameters
// bound, would read on demand — per table scanned, the partitions it is pruned to, the clustered
// share of each partition it reads and the columns it reads — multiplied by a table-size profile
// (profile.ts). ZetaSQL, BigQuery's front end, resolves the statement; this module walks the resolved
// AST and applies BigQuery's documented pruning rules, not DuckDB's (DuckDB prunes on any filter it
// can push down, through joins and subqueries alike):
//
// 1. Partition pruning needs a filter on the partitioning column itself (a bare column reference, or
//    `_PARTITIONTIME` for ingestion-time tables) compared with a constant expression: literals, query
//    parameters, script variables (EXECUTE IMMEDIATE … USING binds them as parameters) and functions
//    of those. A bound that needs a column of another table — a join condition, a value from a
//    subquery — does not prune, and neither does a filter that wraps the partitioning column in an
//    expression. https://cloud.google.com/bigquery/docs/querying-partitioned-tables
//    ("Use a constant filter expression", "Isolate the partition column in your filter")
// 2. A scan reads whole columns of each kept partition: the bytes of every referenced column,
//    not of the rows the query keeps. https://cloud.google.com/bigquery/pricing#on_demand_pricing
//    and https://cloud.google.com/bigquery/docs/estimate-costs
// 3. Block pruning of a clustered table needs filters on the clustering columns in their order,
//    starting with the first; a filter on a later column alone does not prune blocks, and neither
//    does a clustered column inside a complex filter expression (an `or`, a function of the column).
//    https://cloud.google.com/bigquery/docs/querying-clustered-tables
//    A dry run does not count block pruning (the figure it returns is an upper bound); the estimate
//    reports both: `bytes` with block pruning (what on-demand bills) and `unclusteredBytes` (what the
//    dry run, and so the --max-bytes gate, sees). https://cloud.google.com/bigquery/docs/clustered-tables
// 4. On demand, each table referenced by a query is billed at least 10 MB.
//    https://cloud.google.com/bigquery/pricing#on_demand_pricing
// 5. A MERGE with an UPDATE or DELETE clause also processes every column of the target's partitions
//    it scans (q' + t'); the target is pruned by constant filters on its partitioning column in the
//    merge condition or a WHEN clause's search condition.
//    https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#on-demand_query_size_calculation
//    https://cloud.google.com/bigquery/docs/using-dml-with-partitioned-tables
// 6. A non-recursive CTE is evaluated once for each reference, so each reference is a scan of its own
//    with its own filters (https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#cte_rules);
//    the bytes of a table read by several scans are counted once, over the partitions any of them keeps.
//
// Filters reach a scan through the operators a planner may push them below without changing the
// result: projections, other filters, an analytic (window) function when the column is one of its
// PARTITION BY keys, an aggregate when the column is a grouping key, the preserved sides of a join,
// each branch of a UNION and each CTE reference, and a view (a view is inlined into the query that
// reads it: https://cloud.google.com/bigquery/docs/views-intro). A filter in a subquery expression
// (`where x in (select …)`) scans its own tables; it never prunes the outer one.
import type { SqlParams } from '../../pipeline/ports.js';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';
import { analyzerOptions, zetaSql } from '../../test/support/zetasql/server.js';
import { statementText } from '../../test/support/zetasql/analyze.js';

export const MIN_BILLED_BYTES_PER_TABLE = 10 * 1024 * 1024;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

// ------------------------------------------------------------------------------------------------
// The profile the estimate multiplies by (profile.ts builds the 1 B/day one)

export interface TableLayout {
  id: string;
  /** Partitioning column (`_PARTITIONTIME` for ingestion time) and its unit; absent: unpartitioned. */
  partition?: { column: string; granularity: 'DAY' | 'HOUR' };
  clustering?: string[];
}

/** What a filter leaves of a column's values: a half-open range (ms for times and dates) and/or a value list. */
export interface Constraint {
  lo?: number;
  hi?: number;
  values?: (string | number)[];
  /** A range of a STRING column, both ends inclusive (`>` and `<` kept as a superset). */
  from?: string;
  to?: string;
}

export interface TableProfile extends TableLayout {
  /** Average stored bytes per row of each column (BigQuery's data-size rules, see profile.ts). */
  columnBytes: Record<string, number>;
  /** Partitions that exist, as their start instants (ms); one entry `0` for an unpartitioned table. */
  partitions: number[];
  /** Rows in the partition starting at `start` (the whole table when unpartitioned). */
  rows(start: number): number;
  /**
   * Share of a partition's rows in the blocks a filter on a clustering column keeps
   * (undefined: the profile cannot tell, and no block is pruned).
   */
  clusterShare?(column: string, constraint: Constraint, partitionStart: number): number | undefined;
}

export interface Profile {
  /** Instant the run starts; partitions after it are empty. */
  now: Date;
  table(id: string): TableProfile | undefined;
}

// ------------------------------------------------------------------------------------------------
// What the walk finds

/** One scan of a stored table, as the resolved statement shows it. */
export interface TableScan {
  table: string;
  /** Columns read (only the referenced ones). */
  columns: string[];
  /** Constant constraints that reached the scan, by column name. */
  constraints: Record<string, Constraint[]>;
  /** Why a filter on the partitioning column did not prune (a join, a subquery, an expression). */
  notes: string[];
  /** The target of a DML statement with UPDATE or DELETE: all columns of the kept partitions count. */
  dmlTarget?: boolean;
}

export interface TableRead {
  table: string;
  columns: string[];
  partitionsKept: number;
  partitionsTotal: number;
  /** First and last kept partition, ISO dates or hours. */
  partitionRange?: [string, string];
  /** Share of the kept partitions' rows in the blocks clustering keeps (1: no block pruning). */
  clusterShare: number;
  /** Leading clustering columns that pruned blocks. */
  clusterColumns: string[];
  /** Bytes billed for the scan with block pruning. */
  bytes: number;
  /** The same without block pruning: what a dry run reports. */
  unclusteredBytes: number;
  dmlTarget?: boolean;
  notes: string[];
}

export interface StatementEstimate {
  reads: TableRead[];
  /** Sum of the reads, each table at least MIN_BILLED_BYTES_PER_TABLE. */
  bytes: number;
  unclusteredBytes: number;
}

// ------------------------------------------------------------------------------------------------
// Resolved AST access. The proto JSON nests each node in one-of wrappers (`{ node: 'resolvedXNode',
// resolvedXNode: {...} }`) and keeps inherited fields under `parent`.

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Innermost kind and body of a wrapped node. */
function unwrap(v: unknown): { kind: string; body: Json } | undefined {
  let cur = v;
  let kind: string | undefined;
  for (let i = 0; i < 8 && isObj(cur); i++) {
    const obj: Json = cur;
    const key = typeof obj.node === 'string' ? obj.node : Object.keys(obj).find((k) => /^resolved\w+Node$/.test(k) && isObj(obj[k]));
    if (!key || !isObj((cur as Json)[key])) break;
    kind = key;
    cur = (cur as Json)[key];
  }
  return kind && isObj(cur) ? { kind, body: cur } : undefined;
}

/** A field of a node or of one of its `parent`s. */
function field(body: Json, name: string): unknown {
  for (let cur: unknown = body; isObj(cur); cur = cur.parent) if (name in cur && cur[name] !== undefined && cur[name] !== null) return cur[name];
  return undefined;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number => (isObj(v) && 'low' in v ? Number(v.low) + Number(v.high ?? 0) * 2 ** 32 : Number(v));

interface Column {
  id: number;
  name: string;
}
const column = (v: unknown): Column => {
  const c = v as Json;
  return { id: num(c.columnId), name: String(c.name) };
};
const columnList = (scan: Json): Column[] => list(field(scan, 'columnList')).map(column);

// ------------------------------------------------------------------------------------------------
// Constant expressions

type Value = number | string | boolean | Value[] | null;
type Eval = { ok: true; value: Value } | { ok: false; why: 'column' | 'subquery' | 'unevaluated' };

// zetasql/public/functions/datetime.proto, DateTimestampPart
const PART_MS: Record<number, number> = { 3: DAY_MS, 7: HOUR_MS, 8: 60_000, 9: 1000, 10: 1 };

function paramValue(v: unknown): Value {
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(paramValue);
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined) return null;
  return v as Value;
}

function literal(value: Json): Eval {
  const inner = value.value as Json | undefined;
  if (!isObj(inner)) return { ok: true, value: null };
  const k = inner.value as string;
  const x = inner[k];
  switch (k) {
    case 'int64Value':
    case 'uint64Value':
      return { ok: true, value: num(x) };
    case 'int32Value':
    case 'doubleValue':
    case 'floatValue':
    case 'enumValue':
      return { ok: true, value: Number(x) };
    case 'stringValue':
      return { ok: true, value: String(x) };
    case 'boolValue':
      return { ok: true, value: Boolean(x) };
    case 'dateValue':
      return { ok: true, value: Number(x) * DAY_MS };
    case 'timestampValue': {
      const t = x as Json;
      return { ok: true, value: num(t.seconds) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6) };
    }
    case 'arrayValue':
      return { ok: true, value: list((x as Json).element).map((e) => { const r = literal({ value: e }); return r.ok ? r.value : null; }) };
    default:
      return { ok: false, why: 'unevaluated' };
  }
}

/** UTC midnight (ms) of the calendar date of `ms` in `zone`. */
function localDate(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
  return Date.parse(`${parts}T00:00:00Z`);
}

function callFunction(name: string, a: Value[]): Eval {
  const n = (i: number) => a[i] as number;
  switch (name) {
    case 'timestamp_sub':
    case 'date_sub':
    case 'timestamp_add':
    case 'date_add': {
      const unit = PART_MS[n(2)];
      if (unit === undefined || a[0] === null) return { ok: false, why: 'unevaluated' };
      return { ok: true, value: n(0) + (name.endsWith('_sub') ? -1 : 1) * n(1) * unit };
    }
    case 'timestamp_trunc':
    case 'date_trunc': {
      const unit = PART_MS[n(1)];
      if (unit === undefined || unit > DAY_MS || a[2] !== undefined) return { ok: false, why: 'unevaluated' };
      return { ok: true, value: Math.floor(n(0) / unit) * unit };
    }
    case 'date':
      // date(timestamp[, zone]); a DATE is kept as the ms of its UTC midnight.
      if (a.length === 1) return { ok: true, value: Math.floor(n(0) / DAY_MS) * DAY_MS };
      if (a.length === 2 && typeof a[1] === 'string') return { ok: true, value: localDate(n(0), a[1]) };
      return { ok: false, why: 'unevaluated' };
    case 'timestamp':
      if (a.length === 1 && typeof a[0] === 'number') return { ok: true, value: a[0] };
      if (a.length === 1 && typeof a[0] === 'string') return { ok: true, value: Date.parse(a[0]) };
      return { ok: false, why: 'unevaluated' };
    case '$add':
      return { ok: true, value: n(0) + n(1) };
    case '$subtract':
      return { ok: true, value: n(0) - n(1) };
    case '$unary_minus':
      return { ok: true, value: -n(0) };
    case 'coalesce':
      return { ok: true, value: a.find((x) => x !== null) ?? null };
    case 'least':
      return { ok: true, value: Math.min(...(a as number[])) };
    case 'greatest':
      return { ok: true, value: Math.max(...(a as number[])) };
    case '$make_array':
      return { ok: true, value: a };
    default:
      return { ok: false, why: 'unevaluated' };
  }
}

/** The value of an expression built only of literals, parameters and functions of them. */
function evalConst(expr: unknown, params: SqlParams): Eval {
  const node = unwrap(expr);
  if (!node) return { ok: false, why: 'unevaluated' };
  const { kind, body } = node;
  switch (kind) {
    case 'resolvedLiteralNode':
      return literal(body.value as Json);
    case 'resolvedParameterNode': {
      const name = String(body.name);
      if (!(name in params)) return { ok: false, why: 'unevaluated' };
      return { ok: true, value: paramValue(params[name]) };
    }
    case 'resolvedColumnRefNode':
      return { ok: false, why: 'column' };
    case 'resolvedSubqueryExprNode':
      return { ok: false, why: 'subquery' };
    case 'resolvedCastNode': {
      const inner = evalConst(body.expr, params);
      if (!inner.ok) return inner;
      const to = (field(body, 'type') as Json | undefined)?.typeKind;
      // TYPE_DATE = 10, TYPE_TIMESTAMP = 19 (zetasql/public/type.proto)
      if (typeof inner.value === 'string' && (to === 10 || to === 19)) return { ok: true, value: Date.parse(inner.value.length <= 10 ? `${inner.value}T00:00:00Z` : inner.value) };
      return inner;
    }
    case 'resolvedFunctionCallNode': {
      const fn = String((body.parent as Json | undefined) ? (field(body, 'function') as Json).name : '').replace(/^ZetaSQL:/, '');
      const args: Value[] = [];
      let failed: Eval | undefined;
      for (const arg of list(field(body, 'argumentList'))) {
        const r = evalConst(arg, params);
        if (!r.ok) {
          if (!failed || r.why !== 'unevaluated') failed = r;
          continue;
        }
        args.push(r.value);
      }
      if (failed) return failed;
      return callFunction(fn, args);
    }
    default: {
      // Any column or subquery inside makes the expression non-constant.
      const why = findKinds(body, ['resolvedColumnRefNode', 'resolvedSubqueryExprNode']);
      return { ok: false, why: why === 'resolvedColumnRefNode' ? 'column' : why ? 'subquery' : 'unevaluated' };
    }
  }
}

function findKinds(v: unknown, kinds: string[]): string | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = findKinds(x, kinds);
      if (r) return r;
    }
    return undefined;
  }
  if (!isObj(v)) return undefined;
  for (const [k, x] of Object.entries(v)) {
    if (kinds.includes(k)) return k;
    const r = findKinds(x, kinds);
    if (r) return r;
  }
  return undefined;
}

const fnName = (body: Json): string => String((field(body, 'function') as Json | undefined)?.name ?? '').replace(/^ZetaSQL:/, '');

/** Top-level AND-ed terms of a filter. */
function conjuncts(expr: unknown): unknown[] {
  const node = unwrap(expr);
  if (node?.kind === 'resolvedFunctionCallNode' && fnName(node.body) === '$and') return list(field(node.body, 'argumentList')).flatMap(conjuncts);
  return expr === undefined || expr === null ? [] : [expr];
}

const columnRefId = (expr: unknown): number | undefined => {
  const node = unwrap(expr);
  return node?.kind === 'resolvedColumnRefNode' ? column(node.body.column).id : undefined;
};

const FLIP: Record<string, string> = { $less: '$greater', $less_or_equal: '$greater_or_equal', $greater: '$less', $greater_or_equal: '$less_or_equal', $equal: '$equal' };

/** Smallest step of a column's values: ms for timestamps, a day for dates. */
const stepOf = (typeKind: unknown): number => (typeKind === 10 ? DAY_MS : 1);

interface Term {
  column: number;
  constraint?: Constraint;
  /** The term compares the column with something that is not constant. */
  why?: 'column' | 'subquery' | 'unevaluated';
}

/** A filter term as a constraint on one column, when it is `column <op> constant`. */
function termOf(expr: unknown, params: SqlParams): Term | undefined {
  const node = unwrap(expr);
  if (node?.kind !== 'resolvedFunctionCallNode') return undefined;
  let fn = fnName(node.body);
  let args = list(field(node.body, 'argumentList'));
  if (fn in FLIP && columnRefId(args[0]) === undefined && columnRefId(args[1]) !== undefined) {
    fn = FLIP[fn]!;
    args = [args[1], args[0]];
  }
  const col = columnRefId(args[0]);
  if (col === undefined) return undefined;
  const type = (field(unwrap(args[0])!.body, 'type') as Json | undefined)?.typeKind;
  const step = stepOf(type);
  const values = args.slice(1).map((a) => evalConst(a, params));
  const bad = values.find((v) => !v.ok) as { ok: false; why: Term['why'] } | undefined;
  if (bad) return { column: col, why: bad.why };
  const v = values.map((x) => (x as { value: Value }).value);
  const scalar = (x: Value) => (typeof x === 'number' || typeof x === 'string' ? x : undefined);
  if (typeof v[0] === 'string' && ['$greater_or_equal', '$greater', '$less', '$less_or_equal', '$between'].includes(fn)) {
    if (fn === '$between') return typeof v[1] === 'string' ? { column: col, constraint: { from: v[0], to: v[1] } } : undefined;
    return { column: col, constraint: fn.startsWith('$greater') ? { from: v[0] } : { to: v[0] } };
  }
  switch (fn) {
    case '$equal': {
      const x = scalar(v[0]!);
      if (x === undefined) return undefined;
      return { column: col, constraint: typeof x === 'number' ? { lo: x, hi: x + step, values: [x] } : { values: [x] } };
    }
    case '$greater_or_equal':
      return typeof v[0] === 'number' ? { column: col, constraint: { lo: v[0] } } : undefined;
    case '$greater':
      return typeof v[0] === 'number' ? { column: col, constraint: { lo: v[0] + step } } : undefined;
    case '$less':
      return typeof v[0] === 'number' ? { column: col, constraint: { hi: v[0] } } : undefined;
    case '$less_or_equal':
      return typeof v[0] === 'number' ? { column: col, constraint: { hi: v[0] + step } } : undefined;
    case '$between':
      return typeof v[0] === 'number' && typeof v[1] === 'number' ? { column: col, constraint: { lo: v[0], hi: v[1] + step } } : undefined;
    case '$in':
      return { column: col, constraint: { values: v.map(scalar).filter((x): x is string | number => x !== undefined) } };
    case '$in_array':
      return Array.isArray(v[0]) ? { column: col, constraint: { values: v[0].map(scalar).filter((x): x is string | number => x !== undefined) } } : undefined;
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------------------------------------
// The walk: constraints travel down from filters to the scans they may be pushed to.

type Constraints = Map<number, Constraint[]>;
interface Hint {
  column: number;
  why: string;
}

const JOIN_INNER = 0;
const JOIN_LEFT = 1;
const JOIN_RIGHT = 2;
// ResolvedMergeWhen: match_type MATCHED = 0, NOT_MATCHED_BY_SOURCE = 1, NOT_MATCHED_BY_TARGET = 2;
// action_type INSERT = 0, UPDATE = 1, DELETE = 2.
const NOT_MATCHED_BY_TARGET = 2;
const ACTION_INSERT = 0;

interface ViewSource {
  /** The view's SELECT; analyzed per set of columns read, so only those columns reach its tables. */
  select: string;
}

interface WalkContext {
  params: SqlParams;
  /** Columns the statement needs (a table scan reads only these of its columns). */
  used: Set<number>;
  scans: TableScan[];
  withs: Map<string, Json>;
  views: Map<string, ViewSource>;
  analyze: (sql: string) => Promise<Json>;
}

function addConstraint(into: Constraints, col: number, c: Constraint): void {
  into.set(col, [...(into.get(col) ?? []), c]);
}

function withTerms(cons: Constraints, hints: Hint[], exprs: unknown[], params: SqlParams): { cons: Constraints; hints: Hint[] } {
  const out: Constraints = new Map([...cons].map(([k, v]) => [k, [...v]]));
  const outHints = [...hints];
  for (const e of exprs.flatMap(conjuncts)) {
    const t = termOf(e, params);
    if (!t) continue;
    if (t.constraint) addConstraint(out, t.column, t.constraint);
    else if (t.why) outHints.push({ column: t.column, why: t.why === 'column' ? 'compared with a column (a join or correlated value)' : t.why === 'subquery' ? 'compared with a subquery' : 'a bound the estimator cannot evaluate' });
  }
  return { cons: out, hints: outHints };
}

/** Constraints and hints renamed through a column map (new id → old id); others dropped. */
function rename(cons: Constraints, hints: Hint[], map: Map<number, number>): { cons: Constraints; hints: Hint[] } {
  const out: Constraints = new Map();
  for (const [from, to] of map) {
    const c = cons.get(from);
    if (c) out.set(to, [...(out.get(to) ?? []), ...c]);
  }
  return { cons: out, hints: hints.flatMap((h) => (map.has(h.column) ? [{ column: map.get(h.column)!, why: h.why }] : [])) };
}

/** Keeps constraints on the given columns only. */
function only(cons: Constraints, hints: Hint[], keep: Set<number>): { cons: Constraints; hints: Hint[] } {
  return { cons: new Map([...cons].filter(([k]) => keep.has(k))), hints: hints.filter((h) => keep.has(h.column)) };
}

async function walkSubqueries(v: unknown, ctx: WalkContext): Promise<void> {
  if (Array.isArray(v)) {
    for (const x of v) await walkSubqueries(x, ctx);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'resolvedSubqueryExprNode' && isObj(x)) {
      // A subquery expression scans its own tables, with only its own filters.
      await walkScan(x.subquery, new Map(), [], ctx);
      await walkSubqueries(x.inExpr, ctx);
      continue;
    }
    if (/ScanNode$/.test(k)) continue;
    await walkSubqueries(x, ctx);
  }
}

async function walkScan(wrapper: unknown, cons: Constraints, hints: Hint[], ctx: WalkContext): Promise<void> {
  const node = unwrap(wrapper);
  if (!node) return;
  const { kind, body } = node;
  switch (kind) {
    case 'resolvedTableScanNode': {
      const table = field(body, 'table') as Json;
      const id = String(table.fullName ?? table.name);
      const cols = columnList(body).filter((c) => ctx.used.has(c.id));
      const view = ctx.views.get(id);
      if (view) {
        await walkView(id, view, cols, cons, hints, ctx);
        return;
      }
      const constraints: Record<string, Constraint[]> = {};
      const notes: string[] = [];
      for (const c of cols) {
        const cs = cons.get(c.id);
        if (cs) constraints[c.name] = cs;
        for (const h of hints.filter((x) => x.column === c.id)) notes.push(`${c.name}: ${h.why}`);
      }
      ctx.scans.push({ table: id, columns: [...new Set(cols.map((c) => c.name))].sort(), constraints, notes: [...new Set(notes)] });
      return;
    }
    case 'resolvedFilterScanNode': {
      const next = withTerms(cons, hints, [body.filterExpr], ctx.params);
      await walkSubqueries(body.filterExpr, ctx);
      await walkScan(field(body, 'inputScan'), next.cons, next.hints, ctx);
      return;
    }
    case 'resolvedProjectScanNode': {
      const map = new Map<number, number>();
      const computed = new Set<number>();
      for (const cc of list(field(body, 'exprList'))) {
        const c = unwrap(cc)?.body ?? (cc as Json);
        const out = column(c.column).id;
        computed.add(out);
        const src = columnRefId(c.expr);
        if (src !== undefined) map.set(out, src);
      }
      // Pass-through columns keep their ids; a computed column passes a filter only when it is a plain reference.
      const passCons: Constraints = new Map([...cons].filter(([k]) => !computed.has(k)));
      const passHints = hints.filter((h) => !computed.has(h.column));
      const renamed = rename(cons, hints, map);
      for (const [k, v] of renamed.cons) passCons.set(k, [...(passCons.get(k) ?? []), ...v]);
      await walkSubqueries(field(body, 'exprList'), ctx);
      await walkScan(field(body, 'inputScan'), passCons, [...passHints, ...renamed.hints], ctx);
      return;
    }
    case 'resolvedAnalyticScanNode': {
      // A filter passes below a window function only on a PARTITION BY key of every window.
      const groups = list(field(body, 'functionGroupList')).map((g) => unwrap(g)?.body ?? (g as Json));
      let keep: Set<number> | undefined;
      for (const g of groups) {
        const partition = unwrap(g.partitionBy)?.body ?? (g.partitionBy as Json | undefined);
        // partition_by_list holds ResolvedColumnRef protos directly, not one-of wrappers.
        const keys = new Set(list(partition ? field(partition, 'partitionByList') : undefined).map((x) => columnRefId(x) ?? (isObj(x) && isObj(x.column) ? column(x.column).id : undefined)).filter((x): x is number => x !== undefined));
        keep = keep ? new Set([...keep].filter((k) => keys.has(k))) : keys;
      }
      const next = only(cons, hints, keep ?? new Set(cons.keys()));
      await walkSubqueries(groups, ctx);
      await walkScan(field(body, 'inputScan'), next.cons, next.hints, ctx);
      return;
    }
    case 'resolvedAggregateScanNode': {
      const map = new Map<number, number>();
      for (const cc of list(field(body, 'groupByList'))) {
        const c = unwrap(cc)?.body ?? (cc as Json);
        const src = columnRefId(c.expr);
        if (src !== undefined) map.set(column(c.column).id, src);
      }
      const next = rename(cons, hints, map);
      await walkSubqueries([field(body, 'groupByList'), field(body, 'aggregateList')], ctx);
      await walkScan(field(body, 'inputScan'), next.cons, next.hints, ctx);
      return;
    }
    case 'resolvedJoinScanNode': {
      const type = Number(field(body, 'joinType') ?? JOIN_INNER);
      const joinTerms = withTerms(new Map(), [], type === JOIN_INNER ? [field(body, 'joinExpr')] : [], ctx.params);
      const left = field(body, 'leftScan');
      const right = field(body, 'rightScan');
      const leftCols = new Set(columnList(unwrap(left)!.body).map((c) => c.id));
      const rightCols = new Set(columnList(unwrap(right)!.body).map((c) => c.id));
      const merged = withTerms(cons, [...hints, ...joinTerms.hints], [], ctx.params);
      for (const [k, v] of joinTerms.cons) merged.cons.set(k, [...(merged.cons.get(k) ?? []), ...v]);
      // Outer joins: a filter above reaches the preserved side only (conservative: never the null-supplying side).
      const toLeft = type === JOIN_INNER || type === JOIN_LEFT ? only(merged.cons, merged.hints, leftCols) : { cons: new Map(), hints: [] };
      const toRight = type === JOIN_INNER || type === JOIN_RIGHT ? only(merged.cons, merged.hints, rightCols) : { cons: new Map(), hints: [] };
      await walkSubqueries(field(body, 'joinExpr'), ctx);
      await walkScan(left, toLeft.cons, toLeft.hints, ctx);
      await walkScan(right, toRight.cons, toRight.hints, ctx);
      return;
    }
    case 'resolvedWithScanNode': {
      const saved = new Map(ctx.withs);
      for (const e of list(field(body, 'withEntryList'))) {
        const entry = unwrap(e)?.body ?? (e as Json);
        ctx.withs.set(String(entry.withQueryName), entry.withSubquery as Json);
      }
      await walkScan(field(body, 'query'), cons, hints, ctx);
      ctx.withs = saved;
      return;
    }
    case 'resolvedWithRefScanNode': {
      const sub = ctx.withs.get(String(body.withQueryName));
      if (!sub) return;
      const subCols = columnList(unwrap(sub)!.body);
      const map = new Map(columnList(body).map((c, i) => [c.id, subCols[i]!.id]));
      const next = rename(cons, hints, map);
      await walkScan(sub, next.cons, next.hints, ctx);
      return;
    }
    case 'resolvedSetOperationScanNode': {
      const outCols = columnList(body);
      for (const it of list(field(body, 'inputItemList'))) {
        const item = unwrap(it)?.body ?? (it as Json);
        const itemCols = list(item.outputColumnList).map(column);
        const next = rename(cons, hints, new Map(outCols.map((c, i) => [c.id, itemCols[i]!.id])));
        await walkScan(item.scan, next.cons, next.hints, ctx);
      }
      return;
    }
    default: {
      // Order by, limit, array scans and the rest: filters pass to their input scans unchanged.
      await walkSubqueries(Object.fromEntries(Object.entries(body).filter(([k]) => !/Scan$/.test(k))), ctx);
      for (const [k, v] of Object.entries(body)) {
        if (/Scan$/.test(k) && unwrap(v)) await walkScan(v, cons, hints, ctx);
        if (k === 'parent' && isObj(v)) for (const [pk, pv] of Object.entries(v)) if (/Scan$/.test(pk) && unwrap(pv)) await walkScan(pv, cons, hints, ctx);
      }
    }
  }
}

async function walkView(id: string, view: ViewSource, cols: Column[], cons: Constraints, hints: Hint[], ctx: WalkContext): Promise<void> {
  const names = [...new Set(cols.map((c) => c.name))];
  // Analyzed on its own, reading only the columns the outer scan reads, so only those reach the view's tables.
  const stmt = await ctx.analyze(`select ${names.map((n) => `\`${n}\``).join(', ')} from (\n${view.select}\n)`);
  const query = unwrap(stmt)!.body;
  const outputs = list(query.outputColumnList).map((o) => ({ name: String((o as Json).name), id: column((o as Json).column).id }));
  const byName = new Map(outputs.map((o) => [o.name, o.id]));
  const map = new Map(cols.map((c) => [c.id, byName.get(c.name)!]));
  const next = rename(cons, hints, map);
  const saved = { withs: ctx.withs, used: ctx.used };
  ctx.withs = new Map();
  ctx.used = usedColumns(stmt);
  try {
    await walkScan(query.query, next.cons, next.hints, ctx);
  } catch (err) {
    throw new Error(`walking view ${id}`, { cause: err });
  } finally {
    ctx.withs = saved.withs;
    ctx.used = saved.used;
  }
}

async function walkStatement(stmt: Json, ctx: WalkContext): Promise<void> {
  const node = unwrap(stmt);
  if (!node) throw new Error('not a resolved statement');
  const { kind, body } = node;
  switch (kind) {
    case 'resolvedQueryStmtNode':
      await walkScan(body.query, new Map(), [], ctx);
      return;
    case 'resolvedMergeStmtNode': {
      const whens = list(body.whenClauseList).map((w) => unwrap(w)?.body ?? (w as Json));
      await walkScan(body.fromScan, new Map(), [], ctx);
      const modifies = whens.some((w) => Number(w.actionType ?? 0) !== ACTION_INSERT);
      const readsTarget = whens.filter((w) => Number(w.matchType ?? 0) !== NOT_MATCHED_BY_TARGET);
      const target = (unwrap(body.tableScan)?.body ?? body.tableScan) as Json;
      const targetCols = columnList(target);
      const base = withTerms(new Map(), [], [body.mergeExpr], ctx.params);
      // The target's partitions: those the merge condition keeps, narrowed by each target-reading
      // WHEN clause; a clause without a partition filter reads them all.
      const perClause = readsTarget.map((w) => withTerms(base.cons, base.hints, [w.matchExpr], ctx.params));
      const scan: TableScan = {
        table: String(((field(target, 'table') as Json).fullName ?? (field(target, 'table') as Json).name)),
        columns: [...new Set(targetCols.map((c) => c.name))].sort(),
        constraints: {},
        notes: [],
        dmlTarget: modifies,
      };
      const union = unionConstraints(perClause.map((p) => p.cons), targetCols);
      for (const c of targetCols) if (union.has(c.id)) scan.constraints[c.name] = union.get(c.id)!;
      if (readsTarget.length > 0 || modifies) ctx.scans.push(scan);
      await walkSubqueries([body.mergeExpr, whens], ctx);
      return;
    }
    default:
      // Other statements (DDL, INSERT … VALUES): their scans, without constraints from above.
      await walkSubqueries(body, ctx);
      for (const [k, v] of Object.entries(body)) if (/[sS]can$|^query$/.test(k) && unwrap(v)) await walkScan(v, new Map(), [], ctx);
  }
}

/**
 * Columns a statement needs: every column an expression references and every output column, followed
 * back through CTE references and set operations to the columns they come from. ZetaSQL's own
 * pruning keeps a column that only passes through `select *`, which would count every column of a
 * table read through a view or a CTE; a scan reads only the columns that are used.
 */
function usedColumns(stmt: Json): Set<number> {
  const used = new Set<number>();
  const from = new Map<number, number[]>();
  const withCols = new Map<string, number[]>();
  const link = (a: number, b: number) => from.set(a, [...(from.get(a) ?? []), b]);
  const refs: { name: string; cols: number[] }[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isObj(v)) return;
    // Window PARTITION BY and ORDER BY items hold ResolvedColumnRef protos bare, without the one-of wrapper.
    if ('isCorrelated' in v && isObj(v.column) && 'columnId' in v.column) used.add(column(v.column).id);
    if (typeof v.withQueryName === 'string' && 'withSubquery' in v) {
      const sub = unwrap(v.withSubquery);
      if (sub) withCols.set(v.withQueryName, columnList(sub.body).map((c) => c.id));
    }
    for (const [k, x] of Object.entries(v)) {
      if (!isObj(x)) {
        if (Array.isArray(x)) visit(x);
        continue;
      }
      if (k === 'resolvedColumnRefNode') used.add(column(x.column).id);
      if (k === 'resolvedWithRefScanNode') refs.push({ name: String(x.withQueryName), cols: columnList(x).map((c) => c.id) });
      if (k === 'resolvedSetOperationScanNode') {
        const out = columnList(x).map((c) => c.id);
        for (const it of list(field(x, 'inputItemList'))) {
          const item = unwrap(it)?.body ?? (it as Json);
          list(item.outputColumnList).map(column).forEach((c, i) => link(out[i]!, c.id));
        }
      }
      if (k === 'outputColumnList' || k === 'resolvedOutputColumnNode') continue;
      visit(x);
    }
  };
  visit(stmt);
  const top = unwrap(stmt)?.body;
  for (const o of list(top?.outputColumnList)) used.add(column((o as Json).column).id);
  for (const r of refs) r.cols.forEach((c, i) => { const src = withCols.get(r.name)?.[i]; if (src !== undefined) link(c, src); });
  const work = [...used];
  while (work.length) for (const next of from.get(work.pop()!) ?? []) if (!used.has(next)) { used.add(next); work.push(next); }
  return used;
}

/** Per column, the constraints every clause agrees on as one hull (a clause without one drops the column). */
function unionConstraints(clauses: Constraints[], cols: Column[]): Constraints {
  const out: Constraints = new Map();
  if (clauses.length === 0) return out;
  for (const c of cols) {
    const hulls = clauses.map((cl) => hull(cl.get(c.id) ?? []));
    if (hulls.some((h) => h === undefined)) continue;
    const lo = Math.min(...hulls.map((h) => h!.lo ?? -Infinity));
    const hi = Math.max(...hulls.map((h) => h!.hi ?? Infinity));
    // A STRING range (the leading clustering column of a mart, merchant_id): the target is modified
    // in place and keeps its clustering, so its blocks are pruned like any scan's
    // (https://cloud.google.com/bigquery/docs/clustered-tables: "A clustered table maintains the sort
    // properties in the context of each operation that modifies it").
    const froms = hulls.map((h) => h!.from);
    const tos = hulls.map((h) => h!.to);
    const from = froms.every((f) => f !== undefined) ? froms.reduce((a, b) => (b! < a! ? b : a)) : undefined;
    const to = tos.every((t) => t !== undefined) ? tos.reduce((a, b) => (b! > a! ? b : a)) : undefined;
    out.set(c.id, [{ ...(Number.isFinite(lo) ? { lo } : {}), ...(Number.isFinite(hi) ? { hi } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }]);
  }
  return out;
}

/** The intersection of constraints as one range; undefined when there are none. */
function hull(cs: Constraint[]): Constraint | undefined {
  if (cs.length === 0) return undefined;
  let lo = -Infinity;
  let hi = Infinity;
  let from: string | undefined;
  let to: string | undefined;
  for (const c of cs) {
    if (c.lo !== undefined) lo = Math.max(lo, c.lo);
    if (c.hi !== undefined) hi = Math.min(hi, c.hi);
    if (c.from !== undefined && (from === undefined || c.from > from)) from = c.from;
    if (c.to !== undefined && (to === undefined || c.to < to)) to = c.to;
    if (c.values?.length && c.values.every((v) => typeof v === 'number')) {
      lo = Math.max(lo, Math.min(...(c.values as number[])));
      hi = Math.min(hi, Math.max(...(c.values as number[])) + 1);
    }
  }
  return { ...(Number.isFinite(lo) ? { lo } : {}), ...(Number.isFinite(hi) ? { hi } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

// ------------------------------------------------------------------------------------------------
// Analysis (ZetaSQL) and the arithmetic

function paramType(name: string, v: unknown): TypeProto {
  if (v instanceof Date) return { typeKind: 'TYPE_TIMESTAMP' };
  if (typeof v === 'string') return { typeKind: 'TYPE_STRING' };
  if (typeof v === 'number' || typeof v === 'bigint') return { typeKind: 'TYPE_INT64' };
  if (typeof v === 'boolean') return { typeKind: 'TYPE_BOOL' };
  if (Array.isArray(v)) {
    const first = v.find((x) => x !== null && x !== undefined);
    return { typeKind: 'TYPE_ARRAY', arrayType: { elementType: first === undefined ? { typeKind: 'TYPE_STRING' } : paramType(name, first) } };
  }
  throw new Error(`parameter @${name}: no BigQuery type for ${JSON.stringify(v)}`);
}

export interface EstimatorOptions {
  /** Registered ZetaSQL catalog holding every table and view the statements name. */
  catalogId: string;
  /** Views by id (`staging.stg_events`) with their SELECT. */
  views: Map<string, string>;
  profile: Profile;
}

export interface Estimator {
  /** The scans of a statement, with the constraints that reach each; no profile involved. */
  scans(sql: string, params?: SqlParams): Promise<TableScan[]>;
  estimate(sql: string, params?: SqlParams): Promise<StatementEstimate>;
}

export function createEstimator(opts: EstimatorOptions): Estimator {
  const cache = new Map<string, Json>();
  const views = new Map([...opts.views].map(([id, select]) => [id, { select }]));

  async function analyze(sql: string, params: SqlParams): Promise<Json> {
    const types = Object.entries(params).map(([name, v]) => ({ name, type: paramType(name, v) }));
    const key = `${JSON.stringify(types)}\n${sql}`;
    let stmt = cache.get(key);
    if (!stmt) {
      const zs = await zetaSql();
      const options = { ...analyzerOptions(), queryParameters: types, pruneUnusedColumns: true };
      try {
        const res = await zs.call('analyze', { options, registeredCatalogId: opts.catalogId, sqlStatement: statementText(sql) });
        stmt = res.resolvedStatement as unknown as Json;
      } catch (err) {
        throw new Error(`ZetaSQL could not analyze: ${sql.trim().split('\n')[0]}`, { cause: err });
      }
      cache.set(key, stmt);
    }
    return stmt;
  }

  async function scans(sql: string, params: SqlParams = {}): Promise<TableScan[]> {
    const stmt = await analyze(sql, params);
    const ctx: WalkContext = { params, used: usedColumns(stmt), scans: [], withs: new Map(), views, analyze: (s) => analyze(s, params) };
    await walkStatement(stmt, ctx);
    return ctx.scans;
  }

  return {
    scans,
    async estimate(sql, params = {}) {
      const byTable = new Map<string, TableScan[]>();
      for (const s of await scans(sql, params)) byTable.set(s.table, [...(byTable.get(s.table) ?? []), s]);
      const reads = [...byTable.values()].map((group) => readOf(group, opts.profile));
      return summarize(reads);
    },
  };
}

/** Sum of reads; each table referenced is billed at least 10 MB (several scans of it share that minimum). */
export function summarize(reads: TableRead[]): StatementEstimate {
  const byTable = new Map<string, { bytes: number; unclustered: number }>();
  for (const r of reads) {
    const t = byTable.get(r.table) ?? { bytes: 0, unclustered: 0 };
    t.bytes += r.bytes;
    t.unclustered += r.unclusteredBytes;
    byTable.set(r.table, t);
  }
  let bytes = 0;
  let unclusteredBytes = 0;
  for (const t of byTable.values()) {
    bytes += Math.max(t.bytes, MIN_BILLED_BYTES_PER_TABLE);
    unclusteredBytes += Math.max(t.unclustered, MIN_BILLED_BYTES_PER_TABLE);
  }
  return { reads, bytes, unclusteredBytes };
}

const isoPartition = (ms: number, granularity: 'DAY' | 'HOUR'): string => new Date(ms).toISOString().slice(0, granularity === 'DAY' ? 10 : 13);

/** Whether a partition [start, end) may hold rows a constraint keeps. */
function partitionKept(start: number, end: number, cs: Constraint[]): boolean {
  return cs.every((c) => {
    if (c.lo !== undefined && end <= c.lo) return false;
    if (c.hi !== undefined && start >= c.hi) return false;
    if (c.values) return c.values.some((v) => typeof v === 'number' && v >= start && v < end);
    return true;
  });
}

/** Several filters on one column as the one constraint they make together. */
function intersect(cs: Constraint[]): Constraint {
  const out: Constraint = {};
  for (const c of cs) {
    if (c.lo !== undefined) out.lo = Math.max(out.lo ?? -Infinity, c.lo);
    if (c.hi !== undefined) out.hi = Math.min(out.hi ?? Infinity, c.hi);
    if (c.from !== undefined) out.from = out.from === undefined || c.from > out.from ? c.from : out.from;
    if (c.to !== undefined) out.to = out.to === undefined || c.to < out.to ? c.to : out.to;
    if (c.values) out.values = out.values ? out.values.filter((v) => c.values!.includes(v)) : [...c.values];
  }
  return out;
}

/**
 * The scans of one table in one statement, priced by the profile. A table read by several scans
 * (CTE references, self-joins, a view read twice) is billed once, for the columns they reference
 * over the partitions any of them keeps: on demand a query is charged for the bytes of the columns
 * it references in the partitions it scans, per table.
 * https://cloud.google.com/bigquery/pricing#on_demand_pricing
 */
export function readOf(scans: TableScan[], profile: Profile): TableRead {
  const table = scans[0]!.table;
  const t = profile.table(table);
  if (!t) throw new Error(`the profile has no size for ${table}`);
  const dmlTarget = scans.some((s) => s.dmlTarget);
  const referenced = [...new Set(scans.flatMap((s) => s.columns))].sort();
  const unknown = referenced.filter((c) => !(c in t.columnBytes));
  if (unknown.length) throw new Error(`the profile has no column size for ${table}.${unknown.join(', ')}`);
  const columns = dmlTarget ? Object.keys(t.columnBytes) : referenced;
  const rowBytes = columns.reduce((s, c) => s + t.columnBytes[c]!, 0);
  const unit = t.partition?.granularity === 'HOUR' ? HOUR_MS : DAY_MS;
  const notes = new Set(scans.flatMap((s) => s.notes));
  // Per kept partition, the largest share of its blocks any scan reads.
  const shares = new Map<number, number>();
  const pruned = new Set<string>();
  for (const scan of scans) {
    const partCons = t.partition ? (scan.constraints[t.partition.column] ?? []) : [];
    if (t.partition && partCons.length === 0) notes.add(`no constant filter on the partitioning column ${t.partition.column}: every partition is read`);
    // Leading clustering columns with a constant filter, in order, stopping at the first without one.
    const clusterColumns: string[] = [];
    for (const c of t.clustering ?? []) {
      if (!scan.constraints[c]?.length) break;
      clusterColumns.push(c);
    }
    for (const p of t.partition ? t.partitions.filter((x) => partitionKept(x, x + unit, partCons)) : t.partitions) {
      let share = 1;
      for (const c of clusterColumns) share *= t.clusterShare?.(c, intersect(scan.constraints[c]!), p) ?? 1;
      if (share < 1) clusterColumns.forEach((c) => pruned.add(c));
      shares.set(p, Math.max(shares.get(p) ?? 0, share));
    }
  }
  const kept = [...shares.keys()].sort((a, b) => a - b);
  let bytes = 0;
  let unclustered = 0;
  let shareSum = 0;
  let rowsSum = 0;
  for (const p of kept) {
    const rows = t.rows(p);
    bytes += rows * rowBytes * shares.get(p)!;
    unclustered += rows * rowBytes;
    shareSum += rows * shares.get(p)!;
    rowsSum += rows;
  }
  return {
    table,
    columns,
    partitionsKept: kept.length,
    partitionsTotal: t.partitions.length,
    ...(t.partition && kept.length ? { partitionRange: [isoPartition(kept[0]!, t.partition.granularity), isoPartition(kept.at(-1)!, t.partition.granularity)] as [string, string] } : {}),
    clusterShare: rowsSum > 0 ? shareSum / rowsSum : 1,
    clusterColumns: (t.clustering ?? []).filter((c) => pruned.has(c)),
    bytes: Math.round(bytes),
    unclusteredBytes: Math.round(unclustered),
    ...(dmlTarget ? { dmlTarget: true } : {}),
    notes: [...notes],
  };
}


