import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inRange, merchantShards, taskShardOf } from '../../../pipeline/marts/shards.js';

describe('merchant shards', () => {
  it('cuts the id space at the quantiles of the merchants given', () => {
    assert.deepEqual(merchantShards(['m4', 'm1', 'm3', 'm2', 'm1'], 2), [
      { merchantFrom: '', merchantTo: 'm3' },
      { merchantFrom: 'm3' },
    ]);
    assert.deepEqual(merchantShards(['b'], 3), [
      { merchantFrom: '', merchantTo: 'b' },
      { merchantFrom: 'b', merchantTo: 'b' },
      { merchantFrom: 'b' },
    ]);
    assert.deepEqual(merchantShards([], 2), [
      { merchantFrom: '', merchantTo: '' },
      { merchantFrom: '' },
    ]);
  });

  it('puts every merchant id, touched or not, in exactly one range', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,11}$/);
    fc.assert(
      fc.property(fc.array(id, { maxLength: 40 }), fc.array(id, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 12 }), (touched, probes, count) => {
        const shards = merchantShards(touched, count);
        assert.equal(shards.length, count);
        for (const m of [...touched, ...probes]) assert.equal(shards.filter((r) => inRange(r, m)).length, 1, m);
      }),
    );
  });

  it('gives no task more than its share of the touched merchants, plus one', () => {
    const touched = Array.from({ length: 1000 }, (_, i) => `m${String(i).padStart(4, '0')}`);
    const sizes = merchantShards(touched, 7).map((r) => touched.filter((m) => inRange(r, m)).length);
    assert.deepEqual(sizes, [142, 143, 143, 143, 143, 143, 143]);
  });

  it('reads the task index and count Cloud Run sets, one task when unset, and names a bad variable', () => {
    assert.deepEqual(taskShardOf({ CLOUD_RUN_TASK_INDEX: '3', CLOUD_RUN_TASK_COUNT: '8' }), { index: 3, count: 8 });
    assert.deepEqual(taskShardOf({}), { index: 0, count: 1 });
    assert.throws(() => taskShardOf({ CLOUD_RUN_TASK_INDEX: '8', CLOUD_RUN_TASK_COUNT: '8' }), /CLOUD_RUN_TASK_INDEX: "8" is not an index below CLOUD_RUN_TASK_COUNT 8/);
    assert.throws(() => taskShardOf({ CLOUD_RUN_TASK_COUNT: 'x' }), /CLOUD_RUN_TASK_COUNT: "x" is not a positive integer/);
  });
});
