import assert from 'node:assert/strict';
import { MART_MINUTE, MART_SCHEDULE } from '../../infra-cdktf/constructs/marts.js';

describe('infra-cdktf Marts schedule', () => {
  it('runs at minute 5 of every hour, as a Data Transfer hourly range', () => {
    assert.equal(MART_MINUTE, 5);
    assert.equal(MART_SCHEDULE, 'every 1 hours from 00:05 to 23:05');
  });
});
