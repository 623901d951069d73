// The rows a mart's MERGE deletes are stated in its file (`when not matched by source and …`), and the
// same rows are read again in TypeScript through windows.ts windowCondition — by the exporter (what a
// window changed), the run's key snapshot in the scheduled script and the runner's row counts. The
// two must select the same rows, so for every mart of the manifest they must hold the same conditions.
import assert from 'node:assert/strict';
import { MARTS, readSql } from '../../../pipeline/marts/manifest.js';
import { windowCondition } from '../../../pipeline/marts/windows.js';

/** The top-level `and` terms of a condition, whitespace folded (parenthesized terms kept whole). */
function conjuncts(condition: string): string[] {
  const text = condition.replace(/\s+/g, ' ').trim();
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (depth === 0 && text.startsWith(' and ', i)) {
      out.push(text.slice(start, i));
      start = i + ' and '.length;
    }
  }
  out.push(text.slice(start));
  return out.sort();
}

describe('sql/marts delete conditions and windows.ts windowCondition', () => {
  for (const m of MARTS) {
    it(`${m.stem}: the MERGE deletes exactly the rows windowCondition selects`, () => {
      const deleted = /\nwhen not matched by source\s+and\s+([\s\S]+?)\s+then delete\n/.exec(readSql(m.file))?.[1];
      assert.ok(deleted, `${m.file} has no "when not matched by source and … then delete" clause`);
      assert.deepStrictEqual(conjuncts(deleted.replaceAll('target.', '')), conjuncts(windowCondition(m)));
    });
  }
});
