// The assertions of the load proof, for both variants (see load.ts).
import assert from 'node:assert/strict';
import { totalRejected } from '../../pipeline/contracts/outcomes.js';
import { collectorBurst, queryLoad, withLoadRuntime } from './load.js';

/**
 * RSS growth allowed: under query load the heap and caches settle well below it (a leak per request
 * would not); during the burst DuckDB's buffers and the LMDB maps grow with the 100k stored events.
 */
export const QUERY_RSS_BOUND_MB = 300;
export const BURST_RSS_BOUND_MB = 600;

export function describeLoad(opts: { durationS: number; rate: number; events: number }): void {
  describe(`load: ${opts.durationS} s of queries at up to ${opts.rate}/s and a burst of ${opts.events} events`, function () {
    this.timeout((opts.durationS + 240) * 1000);

    it('serves every query without a 5xx or an error, takes every event without loss, in bounded memory', async () => {
      await withLoadRuntime(async (ctx) => {
        const q = await queryLoad(ctx.base, ctx.readKey, { durationS: opts.durationS, rate: opts.rate });
        console.log(`      query API: ${q.requests} requests in ${q.durationS} s (${q.ratePerS}/s sustained, target ${opts.rate}/s); RSS +${q.rssGrowthMb} MB`);
        assert.deepEqual({ ...q.statusCounts, errors: q.errors, timeouts: q.timeouts }, { '2xx': q.requests, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 });
        assert.ok(q.requests > 0);
        assert.ok(q.rssGrowthMb < QUERY_RSS_BOUND_MB, `RSS grew ${q.rssGrowthMb} MB under query load (bound ${QUERY_RSS_BOUND_MB} MB)`);

        const b = await collectorBurst(ctx, { events: opts.events });
        console.log(`      collector: ${b.events} events in ${b.requests} requests, stored in ${b.seconds} s; RSS +${b.rssGrowthMb} MB`);
        assert.deepEqual(b.statuses, { 202: b.requests });
        assert.deepEqual(b.counts, { published: opts.events, accepted: opts.events, rejected: {}, duplicates: 0 });
        assert.equal(b.counts.accepted + totalRejected(b.counts) + b.counts.duplicates, b.counts.published);
        assert.ok(b.rssGrowthMb < BURST_RSS_BOUND_MB, `RSS grew ${b.rssGrowthMb} MB during the burst (bound ${BURST_RSS_BOUND_MB} MB)`);
      });
    });
  });
}
