// Every statement of the hourly run within its budget (sql/budgets.json) in the typical hour of the
// 1 B events/day profile, as the scan estimator prices it: a statement that starts reading more, or a
// new statement without a budget, names its file here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openEstimator, plannedStatements } from '../../../bench/bq-scan/hourly-scan.js';
import { estimateRun, scenario } from '../../../bench/bq-scan/workloads.js';

const budgets = JSON.parse(readFileSync(new URL('../../../sql/budgets.json', import.meta.url), 'utf8')) as Record<string, number | string>;
const GB = 1e9;

describe('hourly run bytes against sql/budgets.json', function () {
  this.timeout(900_000);

  it('reads no more than its budget in any statement of the typical hour', async () => {
    const run = await estimateRun(await openEstimator(), plannedStatements(scenario('typical')));
    const over = Object.entries(run.by_statement)
      .filter(([stem, bytes]) => !(typeof budgets[stem] === 'number' && bytes <= budgets[stem]))
      .map(([stem, bytes]) => `${stem}: ${(bytes / GB).toFixed(1)} GB, budget ${typeof budgets[stem] === 'number' ? `${(budgets[stem] / GB).toFixed(1)} GB` : 'none'}`);
    assert.deepEqual(over, []);
  });
});
