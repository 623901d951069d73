import assert from 'node:assert/strict';
import { explicitRange, MAX_DAYS, MAX_HOURS, parseMetricsQuery } from '../../../services/query-api/params.js';
import { HttpError } from '../../../services/http/errors.js';

/** The 400 a bad query answers: its parameter and message. */
function refusal(fn: () => unknown): { param: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    return { param: err.options.param, message: err.message };
  }
  assert.fail('the query was accepted');
}

describe('query API parameters (services/query-api/params.ts)', () => {
  const hours = { series: 'sales', granularity: 'hour', from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z' };

  it('parses an hourly query into the series, its metrics in the order asked, and epoch bounds', () => {
    const q = parseMetricsQuery({ ...hours, metrics: 'orders,net_revenue_minor,orders' });
    assert.deepEqual(
      { series: q.series.name, metrics: q.metrics.map((m) => m.name), grain: q.grain, dims: q.dims, fromMs: q.fromMs, toMs: q.toMs, compare: q.compare },
      { series: 'sales', metrics: ['orders', 'net_revenue_minor'], grain: 'h', dims: {}, fromMs: Date.parse(hours.from), toMs: Date.parse(hours.to), compare: false },
    );
  });

  it('takes a preset range instead of from and to, hours for today and days for the last week', () => {
    assert.deepEqual([parseMetricsQuery({ series: 'sales', range: 'today' }).grain, parseMetricsQuery({ series: 'sales', range: 'last_7_days' }).grain], ['h', 'd']);
  });

  it('names the parameter of each refusal', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...hours, colour: 'red' }, 'colour', /unknown parameter "colour"/],
      [{ ...hours, series: ['sales', 'sales'] }, 'series', /must be given once/],
      [{ ...hours, series: 'weather' }, 'series', /^series: /],
      [{ series: 'sales', range: 'today', from: hours.from }, 'from', /give either range or from and to/],
      [{ series: 'sales', granularity: 'hour', from: hours.from }, 'to', /to is required unless range is given/],
      [{ ...hours, metrics: 'orders,,x' }, 'metrics', /comma-separated list/],
      [{ ...hours, metrics: 'sunshine' }, 'metrics', /has no metric "sunshine"/],
      [{ ...hours, from: '2026-11-20T00:30:00Z' }, 'from', /whole UTC hour/],
      [{ ...hours, to: hours.from }, 'to', /to must be after from/],
      [{ series: 'sales', granularity: 'day', from: '2026-11-20T00:00:00Z', to: '2026-11-21' }, 'from', /local date YYYY-MM-DD/],
    ];
    for (const [query, param, message] of cases) {
      const r = refusal(() => parseMetricsQuery(query));
      assert.equal(r.param, param, JSON.stringify(query));
      assert.match(r.message, message, JSON.stringify(query));
    }
  });

  it('bounds ranges: 31 days of hours, three years of days', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    assert.deepEqual(explicitRange('h', new Date(start).toISOString(), new Date(start + MAX_HOURS * 3_600_000).toISOString()).toMs, start + MAX_HOURS * 3_600_000);
    assert.match(refusal(() => explicitRange('h', new Date(start).toISOString(), new Date(start + (MAX_HOURS + 1) * 3_600_000).toISOString())).message, /at most 744 hours/);
    assert.deepEqual(explicitRange('d', '2026-01-01', '2029-01-03'), { from: '2026-01-01', to: '2029-01-03' });
    assert.equal(MAX_DAYS, 1098);
    assert.match(refusal(() => explicitRange('d', '2026-01-01', '2029-01-04')).message, /at most 1098 days/);
  });
});
