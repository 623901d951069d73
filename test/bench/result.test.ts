// The benchmark result file's shape: ratios, the largest marts size as the figure of record,
// reprocess linearity, medians and percentiles. Benchmarks themselves are not tests.
import assert from 'node:assert/strict';
import { buildResult, formatTable, median, p95, type Figures } from '../../bench/result.js';

const figures = (): Figures => ({
  ingest: { events: 60_000, events_per_s: 150_000, baseline_json_parse_per_s: 600_000 },
  load: { rows: 57_000, rows_per_s: 40_000, baseline_appender_rows_per_s: 50_000 },
  marts: {
    sizes: [
      { events: 10_000_000, seconds: 40, events_per_s: 250_000, baseline_groupby_events_per_s: 2_000_000 },
      { events: 1_000_000, seconds: 5, events_per_s: 200_000, baseline_groupby_events_per_s: 1_000_000 },
    ],
  },
  api: {
    seconds: 10,
    connections: 10,
    distinct_requests: 1_020,
    response_bytes_avg: 55_000,
    rps: 900,
    p50_ms: 9,
    p99_ms: 30,
    baseline_rps: 3_000,
    baseline_p50_ms: 3,
    baseline_p99_ms: 8,
    non_2xx: 0,
    errors: 0,
  },
  freshness: { p95_s: 1.2, samples: 10, method: 'collector' },
  reprocess: {
    days: [
      { days: 30, seconds: 60 },
      { days: 7, seconds: 14 },
    ],
  },
  machine: { cores: 2, memory_gb: 23, node: 'v20.20.2' },
  date: '2026-11-21T23:00:00.000Z',
  quick: true,
});

describe('bench result', () => {
  it('nests every figure with its baseline and ratio, the largest marts size as the marts figure', () => {
    assert.deepStrictEqual(buildResult(figures()), {
      ingest: { events: 60_000, events_per_s: 150_000, baseline_json_parse_per_s: 600_000, ratio: 0.25 },
      load: { rows: 57_000, rows_per_s: 40_000, baseline_appender_rows_per_s: 50_000, ratio: 0.8 },
      marts: {
        sizes: [
          { events: 1_000_000, seconds: 5, events_per_s: 200_000, baseline_groupby_events_per_s: 1_000_000 },
          { events: 10_000_000, seconds: 40, events_per_s: 250_000, baseline_groupby_events_per_s: 2_000_000 },
        ],
        events_per_s: 250_000,
        baseline_groupby_events_per_s: 2_000_000,
        ratio: 0.13,
        linearity: 0.8,
      },
      api: { ...figures().api, ratio: 0.3 },
      freshness: { p95_s: 1.2, samples: 10, method: 'collector' },
      reprocess: {
        days: [
          { days: 7, seconds: 14, days_per_s: 0.5 },
          { days: 30, seconds: 60, days_per_s: 0.5 },
        ],
        days_per_s: 0.5,
        linearity: 1,
      },
      machine: { cores: 2, memory_gb: 23, node: 'v20.20.2' },
      date: '2026-11-21T23:00:00.000Z',
      quick: true,
    });
  });

  it('has no marts linearity with one size (the quick run)', () => {
    const f = figures();
    f.marts.sizes = [f.marts.sizes[1]!];
    const r = buildResult(f);
    assert.equal(r.marts.linearity, null);
    assert.equal(r.marts.events_per_s, 200_000);
    assert.equal(r.marts.ratio, 0.2);
  });

  it('reports reprocess linearity as seconds per day at the longest span over the shortest', () => {
    const f = figures();
    f.reprocess.days = [
      { days: 7, seconds: 7 },
      { days: 30, seconds: 45 },
    ];
    assert.deepStrictEqual(buildResult(f).reprocess, {
      days: [
        { days: 7, seconds: 7, days_per_s: 1 },
        { days: 30, seconds: 45, days_per_s: 0.67 },
      ],
      days_per_s: 0.67,
      linearity: 1.5,
    });
  });

  it('refuses figures without marts sizes or with one reprocess span', () => {
    const noSizes = figures();
    noSizes.marts.sizes = [];
    assert.throws(() => buildResult(noSizes), { name: 'RangeError', message: 'marts: no sizes measured' });
    const oneSpan = figures();
    oneSpan.reprocess.days = [{ days: 7, seconds: 1 }];
    assert.throws(() => buildResult(oneSpan), { name: 'RangeError', message: 'reprocess: two spans are needed for linearity' });
  });

  it('takes medians and nearest-rank 95th percentiles', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(p95([5, 1, 4, 2, 3]), 5);
    assert.equal(p95(Array.from({ length: 20 }, (_, i) => i + 1)), 19);
    assert.throws(() => median([]), RangeError);
  });

  it('carries api_reads_per_request from the Bigtable read count, with a table line', () => {
    const f = { ...figures(), api_reads: { requests: 200, read_rows_calls: 200, reads_per_request: 1, cold_reads_per_request: 2 } };
    const r = buildResult(f);
    assert.equal(r.api_reads_per_request, 1);
    assert.deepStrictEqual(r.api_reads, f.api_reads);
    assert.equal(buildResult(figures()).api_reads_per_request, undefined);
    const line = formatTable(r).split('\n').find((l) => l.startsWith('api Bigtable reads/request'));
    assert.deepStrictEqual(line?.split(/\s{2,}/), ['api Bigtable reads/request', '1', 'cold 2', '1']);
  });

  it('prints one table line per figure with its baseline and target', () => {
    const lines = formatTable(buildResult(figures())).split('\n');
    assert.deepStrictEqual(
      lines.filter((l) => !l.startsWith('-')).map((l) => l.split(/\s{2,}/)[0]),
      [
        'figure',
        'ingest events/s (1 core)',
        'load rows/s',
        'marts events/s @ 1,000,000',
        'marts events/s @ 10,000,000',
        'marts linearity (s/event)',
        'api rps',
        'api p50 / p99 ms',
        'freshness p95 s',
        'reprocess 7 days',
        'reprocess 30 days',
        'reprocess linearity',
      ],
    );
    assert.match(lines[2]!, /150,000\s+JSON\.parse 600,000\/s\s+0\.25\s+≥ 0\.5, ≥ 250,000\/s$/);
  });

  it('places ingest_e2e after load with its ratio to the JSON.parse + appender baseline, and a table row', () => {
    const r = buildResult({ ...figures(), ingest_e2e: { events: 60_000, events_per_s: 30_000, baseline_per_s: 48_000 } });
    assert.deepStrictEqual(r.ingest_e2e, { events: 60_000, events_per_s: 30_000, baseline_per_s: 48_000, ratio: 0.63 });
    assert.deepStrictEqual(Object.keys(r).slice(0, 4), ['ingest', 'load', 'ingest_e2e', 'marts']);
    assert.match(formatTable(r), /ingest e2e events\/s \(file → raw\.\*\)\s+30,000\s+JSON\.parse \+ appender 48,000\/s\s+0\.63/);
    assert.equal('ingest_e2e' in buildResult(figures()), false);
  });
});
