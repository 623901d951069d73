// Range presets in local days, previous periods, and the span one read covers before the zone is known.
import assert from 'node:assert/strict';
import type { MetricsRequest } from '../../../services/query-api/params.js';
import { RANGE_PRESETS } from '../../../services/query-api/params.js';
import { candidateSpan, presetDays, previousPeriod, resolveRange } from '../../../services/query-api/ranges.js';
import { CATALOG } from '../../../pipeline/metrics/catalog.js';

const request = (range: MetricsRequest['range'], grain: 'h' | 'd', compare: boolean): MetricsRequest => ({ series: CATALOG[0]!, metrics: [], grain, dims: {}, from: '', to: '', range, compare });
const ZONES = ['UTC', 'America/New_York', 'Pacific/Kiritimati', 'Etc/GMT+12', 'Pacific/Pago_Pago', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns'];
const NOWS = ['2026-03-08T06:59:00Z', '2026-03-08T07:00:00Z', '2026-03-01T10:30:00Z', '2026-12-31T23:30:00Z', '2026-01-01T00:15:00Z', '2026-11-01T05:30:00Z'];

describe('query API ranges', () => {
  it("resolves presets on the merchant's local day", () => {
    const now = new Date('2026-03-01T03:00:00Z'); // still 2026-02-28 in New York
    assert.deepEqual(presetDays('today', now, 'America/New_York'), { from: '2026-02-28', to: '2026-03-01' });
    assert.deepEqual(presetDays('yesterday', now, 'America/New_York'), { from: '2026-02-27', to: '2026-02-28' });
    assert.deepEqual(presetDays('last_7_days', now, 'America/New_York'), { from: '2026-02-22', to: '2026-03-01' });
    assert.deepEqual(presetDays('last_30_days', now, 'Asia/Kolkata'), { from: '2026-01-31', to: '2026-03-02' });
    assert.deepEqual(presetDays('month_to_date', now, 'America/New_York'), { from: '2026-02-01', to: '2026-03-01' });
    assert.deepEqual(presetDays('month_to_date', now, 'Asia/Kolkata'), { from: '2026-03-01', to: '2026-03-02' });
  });

  it('covers a DST day with its 23 UTC hours and a +05:30 day with the partial hours at both ends', () => {
    const now = new Date('2026-03-09T16:00:00Z');
    const ny = resolveRange(request('yesterday', 'h', false), 'America/New_York', now);
    assert.deepEqual([ny.from, ny.to], ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z']);
    assert.deepEqual(previousPeriod(ny), { grain: 'h', from: '2026-03-07T06:00:00Z', to: '2026-03-08T05:00:00Z', fromMs: Date.parse('2026-03-07T06:00:00Z'), toMs: Date.parse('2026-03-08T05:00:00Z') });
    const kolkata = resolveRange(request('today', 'h', false), 'Asia/Kolkata', now);
    assert.deepEqual([kolkata.from, kolkata.to], ['2026-03-08T18:00:00Z', '2026-03-09T19:00:00Z']);
    assert.deepEqual(previousPeriod({ grain: 'd', from: '2026-03-08', to: '2026-03-10' }), { grain: 'd', from: '2026-03-06', to: '2026-03-08' });
  });

  it('reads a span holding the range and its previous period in every zone, for every preset', () => {
    for (const nowIso of NOWS) {
      const now = new Date(nowIso);
      for (const preset of RANGE_PRESETS) {
        for (const grain of ['h', 'd'] as const) {
          const q = request(preset, grain, true);
          const span = candidateSpan(q, now);
          for (const zone of ZONES) {
            const r = resolveRange(q, zone, now);
            const prev = previousPeriod(r);
            const where = `${preset} ${grain} ${zone} at ${nowIso}`;
            if (grain === 'h') {
              assert.ok(span.fromMs! <= prev.fromMs! && r.toMs! <= span.toMs!, where);
            } else {
              assert.ok(span.from <= prev.from && r.to <= span.to, where);
            }
          }
        }
      }
    }
  });
});
