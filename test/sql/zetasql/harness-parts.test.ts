// Unit tests of the ZetaSQL harness's pure parts: value encodings both engines are compared
// through, and the statement surgery (MERGE source, view body, table-name quoting).
import assert from 'node:assert/strict';
import { formatAnalysisError, parseZetaError, statementText } from '../../support/zetasql/analyze.js';
import { toEvaluationSql } from '../../support/zetasql/catalog.js';
import { resultAsTableContent, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { mergeSourceSelect, mergeTarget, parameterNames, viewDefinition } from '../../support/zetasql/statements.js';
import {
  bytesToScaled,
  dateToDays,
  daysToDate,
  decimalToScaled,
  isoToMicros,
  microsToIso,
  scaledToBytes,
  scaledToDecimal,
  zetaFamily,
} from '../../support/zetasql/values.js';
import { req, opt, type TableDef } from '../../../pipeline/schema/types.js';

describe('ZetaSQL harness values', () => {
  it('encodes NUMERIC as little-endian two’s complement of value × 10^9, as ZetaSQL sends it', () => {
    assert.deepEqual([...scaledToBytes(decimalToScaled('5', 9))], [0x00, 0xf2, 0x05, 0x2a, 0x01]);
    assert.deepEqual([...scaledToBytes(0n)], [0x00]);
    assert.deepEqual([...scaledToBytes(127n)], [0x7f]);
    assert.deepEqual([...scaledToBytes(128n)], [0x80, 0x00]);
    assert.deepEqual([...scaledToBytes(-128n)], [0x80]);
    assert.deepEqual([...scaledToBytes(-129n)], [0x7f, 0xff]);
  });

  it('round-trips NUMERIC values through bytes and text', () => {
    const texts = ['0', '1', '-1', '12.5', '-0.000000001', '99999999999999999999999999999.999999999', '-99999999999999999999999999999.999999999'];
    assert.deepEqual(
      texts.map((t) => scaledToDecimal(bytesToScaled(scaledToBytes(decimalToScaled(t, 9))), 9)),
      texts,
    );
    assert.equal(scaledToDecimal(decimalToScaled('12.500', 9), 9), '12.5');
    assert.throws(() => decimalToScaled('0.0000000001', 9), /more than 9 decimals/);
  });

  it('reads instants with any offset, to the microsecond', () => {
    assert.equal(isoToMicros('2026-03-08T01:59:59-05:00'), isoToMicros('2026-03-08T06:59:59Z'));
    assert.equal(isoToMicros('2026-03-08T00:00:00+05:45'), isoToMicros('2026-03-07T18:15:00Z'));
    assert.equal(isoToMicros('1970-01-01T00:00:00.000001Z'), 1n);
    assert.equal(microsToIso(isoToMicros('2026-03-08T18:14:59.999999Z')), '2026-03-08T18:14:59.999999Z');
    assert.equal(microsToIso(-1n), '1969-12-31T23:59:59.999999Z');
    assert.throws(() => isoToMicros('2026-03-08T01:00:00'), /offset/);
  });

  it('reads dates as days since the epoch', () => {
    assert.equal(dateToDays('1970-01-02'), 1);
    assert.equal(daysToDate(dateToDays('2026-03-08')), '2026-03-08');
  });
});

describe('ZetaSQL harness statements', () => {
  const merge = `-- header (with a parenthesis
merge into marts.mart_x as target
using (
  with source as (select ')' as p, merchant_id from staging.stg_events where event_ts >= @window_start /* ) */)
  select * from source
) as rebuilt
on false
when not matched by source and target.hour_start >= @window_start then delete
when not matched then insert row`;

  it('takes the SELECT out of MERGE … USING (…)', () => {
    assert.equal(
      mergeSourceSelect(merge),
      "with source as (select ')' as p, merchant_id from staging.stg_events where event_ts >= @window_start /* ) */)\n  select * from source",
    );
    assert.equal(mergeTarget(merge), 'marts.mart_x');
    assert.throws(() => mergeSourceSelect('select 1'), /not a MERGE/);
  });

  it('takes id and SELECT out of CREATE VIEW, after leading comments', () => {
    assert.deepEqual(viewDefinition('-- stg\n-- grain: x\ncreate or replace view staging.v as\nselect 1 as a;\n'), { id: 'staging.v', select: 'select 1 as a' });
    assert.deepEqual(viewDefinition('create view `proj.reporting.r` as select 2'), { id: 'reporting.r', select: 'select 2' });
    assert.equal(viewDefinition('select 1'), undefined);
  });

  it('lists parameters outside strings and comments', () => {
    assert.deepEqual(parameterNames("select '@not' -- @nor\n from t where a >= @window_start and b < @window_end and c = @window_start"), ['window_start', 'window_end']);
  });

  it('quotes known table ids for evaluation, and nothing else', () => {
    const sql = "select e.raw, 'raw.events' from raw.events e join `raw.events` f using (x) join dims . stores s on true -- raw.events";
    assert.equal(
      toEvaluationSql(sql, ['raw.events', 'dims.stores']),
      "select e.raw, 'raw.events' from `raw.events` e join `raw.events` f using (x) join `dims.stores` s on true -- raw.events",
    );
  });

  it('formats ZetaSQL errors as file:line:column message', () => {
    assert.equal(
      formatAnalysisError('sql/marts/x.sql', parseZetaError('Unrecognized name: merchnt_id; Did you mean merchant_id? [at 12:7]')),
      'sql/marts/x.sql:12:7 Unrecognized name: merchnt_id; Did you mean merchant_id?',
    );
    assert.equal(statementText('select 1;\n'), 'select 1');
  });
});

describe('ZetaSQL harness table contents', () => {
  const def: TableDef = {
    id: 'marts.m',
    description: 'test',
    uniqueKey: ['k'],
    columns: [req('k', 'STRING', 'key'), opt('ratio', 'FLOAT64', 'a ratio')],
  };
  const result = (ratioKind: 'TYPE_DOUBLE' | 'TYPE_INT64'): ZetaResult => ({
    columns: [],
    rows: [],
    table: { id: 'result.query', columns: [{ name: 'ratio', type: { typeKind: ratioKind } }, { name: 'k', type: { typeKind: 'TYPE_STRING' } }] },
    content: { tableData: { row: [{ cell: [{ doubleValue: 0.5 }, { stringValue: 'a' }] }] } },
  });

  it('names types the same whether ZetaSQL sends kinds as names or numbers', () => {
    assert.deepEqual(
      [zetaFamily({ typeKind: 'TYPE_INT64' }), zetaFamily({ typeKind: 2 } as never), zetaFamily({ typeKind: 'TYPE_ARRAY', arrayType: { elementType: { typeKind: 'TYPE_TIMESTAMP' } } })],
      ['INT64', 'INT64', 'ARRAY<TIMESTAMP>'],
    );
  });

  it('puts result columns into the table order by name', () => {
    assert.deepEqual(resultAsTableContent(result('TYPE_DOUBLE'), def), { tableData: { row: [{ cell: [{ stringValue: 'a' }, { doubleValue: 0.5 }] }] } });
  });

  it('refuses a result whose column type differs from the table', () => {
    assert.throws(() => resultAsTableContent(result('TYPE_INT64'), def), /ratio is INT64, the table says FLOAT64/);
  });
});
