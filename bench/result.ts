// The shape of bench/results/latest.json and the table printed at the end of a run. Pure: the runner
// hands in the measured figures, this module derives ratios, rounds, and lays out the nested object
// the benchmark issue fixes (ingest, load, marts, api, freshness, reprocess, machine, date), plus
// api_reads_per_request.
import type { ApiReadsFigures } from './api-reads.js';
import type { IngestE2eFigures } from './ingest-e2e.js';
import type { IngestHttpFigures } from './ingest-http.js';
import type { OnceFigures } from './once.js';

export interface MartSize {
  events: number;
  seconds: number;
  events_per_s: number;
  /** The bare GROUP BY over the same raw events, same run. */
  baseline_groupby_events_per_s: number;
  /** Seconds of each hourly mart's rebuild at this size. */
  seconds_by_mart?: Record<string, number>;
}

export interface Figures {
  ingest: { events: number; events_per_s: number; baseline_json_parse_per_s: number };
  load: { rows: number; rows_per_s: number; baseline_appender_rows_per_s: number };
  /** NDJSON file → rows durably in raw.* with every end state recorded (bench/ingest-e2e.ts). */
  ingest_e2e?: IngestE2eFigures;
  /** The same through the collector over HTTP (bench/ingest-http.ts). */
  ingest_http?: IngestHttpFigures;
  /** `tillstream start --once --events 1000000` (bench/once.ts). */
  once_1m?: OnceFigures;
  marts: { sizes: MartSize[] };
  api: { seconds: number; connections: number; distinct_requests: number; response_bytes_avg: number; rps: number; p50_ms: number; p99_ms: number; baseline_rps: number; baseline_p50_ms: number; baseline_p99_ms: number; non_2xx: number; errors: number };
  freshness: { p95_s: number | null; samples: number; method: string };
  /** Bigtable ReadRows calls per metrics request on the gcp runtime (bench/api-reads.ts). */
  api_reads?: ApiReadsFigures;
  reprocess: { days: { days: number; seconds: number }[] };
  machine: { cores: number; memory_gb: number; node: string; /** 1-minute load average at the end: other work on the machine depresses every figure. */ load_avg_1m?: number };
  date: string;
  quick: boolean;
}

const round = (v: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const ratio = (a: number, b: number): number => (b > 0 ? round(a / b, 2) : 0);

export { median, p95 } from './stats.js';

export interface LatestResult {
  ingest: { events: number; events_per_s: number; baseline_json_parse_per_s: number; ratio: number };
  load: { rows: number; rows_per_s: number; baseline_appender_rows_per_s: number; ratio: number };
  ingest_e2e?: IngestE2eFigures & { ratio: number };
  ingest_http?: IngestHttpFigures;
  once_1m?: OnceFigures;
  marts: { sizes: MartSize[]; events_per_s: number; baseline_groupby_events_per_s: number; ratio: number; linearity: number | null };
  api: Figures['api'] & { ratio: number };
  /** ReadRows calls per warm metrics request on gcp, counted at the Bigtable client (target 1). */
  api_reads_per_request?: number;
  api_reads?: ApiReadsFigures;
  freshness: { p95_s: number | null; samples: number; method: string };
  reprocess: { days: { days: number; seconds: number; days_per_s: number }[]; days_per_s: number; linearity: number };
  machine: Figures['machine'];
  date: string;
  quick: boolean;
}

/**
 * The result file from the figures. `marts.events_per_s` is the largest size; `marts.linearity` is
 * seconds per event at the largest size over seconds per event at the smallest (null with one size).
 * `reprocess.days_per_s` is the 30-day figure (the longest span); `reprocess.linearity` is seconds per
 * day at the longest span over seconds per day at the shortest.
 */
export function buildResult(f: Figures): LatestResult {
  const sizes = [...f.marts.sizes].sort((a, b) => a.events - b.events);
  if (sizes.length === 0) throw new RangeError('marts: no sizes measured');
  const largest = sizes.at(-1)!;
  const smallest = sizes[0]!;
  const perEvent = (s: MartSize) => s.seconds / s.events;
  const spans = [...f.reprocess.days].sort((a, b) => a.days - b.days);
  if (spans.length < 2) throw new RangeError('reprocess: two spans are needed for linearity');
  const shortest = spans[0]!;
  const longest = spans.at(-1)!;
  const perDay = (s: { days: number; seconds: number }) => s.seconds / s.days;
  return {
    ingest: { ...f.ingest, ratio: ratio(f.ingest.events_per_s, f.ingest.baseline_json_parse_per_s) },
    load: { ...f.load, ratio: ratio(f.load.rows_per_s, f.load.baseline_appender_rows_per_s) },
    ...(f.ingest_e2e ? { ingest_e2e: withE2eRatio(f.ingest_e2e) } : {}),
    ...(f.ingest_http ? { ingest_http: f.ingest_http } : {}),
    ...(f.once_1m ? { once_1m: f.once_1m } : {}),
    marts: {
      sizes,
      events_per_s: largest.events_per_s,
      baseline_groupby_events_per_s: largest.baseline_groupby_events_per_s,
      ratio: ratio(largest.events_per_s, largest.baseline_groupby_events_per_s),
      linearity: sizes.length > 1 ? round(perEvent(largest) / perEvent(smallest), 2) : null,
    },
    api: { ...f.api, ratio: ratio(f.api.rps, f.api.baseline_rps) },
    ...(f.api_reads ? { api_reads_per_request: f.api_reads.reads_per_request, api_reads: f.api_reads } : {}),
    freshness: f.freshness,
    reprocess: {
      days: spans.map((s) => ({ ...s, seconds: round(s.seconds, 2), days_per_s: round(s.days / s.seconds, 2) })),
      days_per_s: round(longest.days / longest.seconds, 2),
      linearity: round(perDay(longest) / perDay(shortest), 2),
    },
    machine: f.machine,
    date: f.date,
    quick: f.quick,
  };
}

export const withE2eRatio = (f: IngestE2eFigures): IngestE2eFigures & { ratio: number } => ({ ...f, ratio: ratio(f.events_per_s, f.baseline_per_s) });

const fmt = (v: number | null): string => (v === null ? '—' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(v));

/** The readable table: one line per figure, its baseline, the ratio and the target from the issue. */
export function formatTable(r: LatestResult): string {
  const rows: [string, string, string, string, string][] = [
    ['figure', 'measured', 'baseline (same run)', 'ratio', 'target'],
    ['ingest events/s (1 core)', fmt(r.ingest.events_per_s), `JSON.parse ${fmt(r.ingest.baseline_json_parse_per_s)}/s`, fmt(r.ingest.ratio), '≥ 0.5, ≥ 250,000/s'],
    ['load rows/s', fmt(r.load.rows_per_s), `appender ${fmt(r.load.baseline_appender_rows_per_s)}/s`, fmt(r.load.ratio), '≥ 0.8'],
    ...(r.ingest_e2e
      ? [['ingest e2e events/s (file → raw.*)', fmt(r.ingest_e2e.events_per_s), `JSON.parse + appender ${fmt(r.ingest_e2e.baseline_per_s)}/s`, fmt(r.ingest_e2e.ratio), '≥ 0.5, ≥ 50,000/s'] as [string, string, string, string, string]]
      : []),
    ...(r.ingest_http
      ? [['ingest http events/s (POST → raw.*)', fmt(r.ingest_http.events_per_s), `collector → bus ${fmt(r.ingest_http.collector_events_per_s)}/s`, '', '≥ 30,000/s'] as [string, string, string, string, string]]
      : []),
    ...(r.once_1m
      ? [['start --once, 1M events', `${r.once_1m.seconds} s, ${fmt(r.once_1m.peak_rss_mb)} MB`, '', '', '≤ 90 s, ≤ 1,536 MB'] as [string, string, string, string, string]]
      : []),
    ...r.marts.sizes.map(
      (s): [string, string, string, string, string] => [
        `marts events/s @ ${fmt(s.events)}`,
        `${fmt(s.events_per_s)} (${s.seconds} s)`,
        `GROUP BY ${fmt(s.baseline_groupby_events_per_s)}/s`,
        fmt(ratio(s.events_per_s, s.baseline_groupby_events_per_s)),
        '≥ 0.8, linear',
      ],
    ),
    ['marts linearity (s/event)', fmt(r.marts.linearity), '', '', '≈ 1'],
    ['api rps', fmt(r.api.rps), `node:http ${fmt(r.api.baseline_rps)}`, fmt(r.api.ratio), '≥ 0.6'],
    ['api p50 / p99 ms', `${r.api.p50_ms} / ${r.api.p99_ms}`, `${r.api.baseline_p50_ms} / ${r.api.baseline_p99_ms}`, '', 'p99 ≤ 5 at 5k rps'],
    ...(r.api_reads ? [['api Bigtable reads/request', fmt(r.api_reads.reads_per_request), `cold ${fmt(r.api_reads.cold_reads_per_request)}`, '', '1'] as [string, string, string, string, string]] : []),
    ['freshness p95 s', fmt(r.freshness.p95_s), `${r.freshness.samples} samples`, '', '≤ 60'],
    ...r.reprocess.days.map((d): [string, string, string, string, string] => [`reprocess ${d.days} days`, `${d.seconds} s (${d.days_per_s} days/s)`, '', '', '']),
    ['reprocess linearity', fmt(r.reprocess.linearity), '', '', '≤ 1.1'],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
