import assert from 'node:assert/strict';
import { toScaledNumeric } from '../../../adapters/local/duckdb-values.js';

describe('duckdb values', () => {
  // Moved from the local warehouse's tests.
  it('scales NUMERIC text exactly', () => {
    assert.equal(toScaledNumeric('12.5'), 12_500_000_000n);
    assert.equal(toScaledNumeric('-0.0000000015'), -2n);
    assert.equal(toScaledNumeric(3), 3_000_000_000n);
  });
});
