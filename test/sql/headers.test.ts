// Every mart file opens with the header CONVENTIONS.md asks for, and the header, the MERGE target
// and the insert column list agree with the table definitions of the schema source.
import assert from 'node:assert/strict';
import { martParams } from '../../pipeline/marts/statements.js';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ASSERTIONS, MARTS, REPORTING, STAGING, readSql } from '../../pipeline/marts/manifest.js';

const dir = (d: string) => readdirSync(fileURLToPath(new URL(`../../sql/${d}/`, import.meta.url))).filter((f) => f.endsWith('.sql')).sort();

function header(sql: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of sql.split('\n')) {
    if (!line.startsWith('--')) break;
    const m = /^-- (grain|partition|clustering|unique key|rebuild window): (.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const list = (s: string) => s.split(',').map((x) => x.trim());

describe('sql/ files and the manifest', () => {
  it('lists every file of sql/ in the manifest, and nothing else', () => {
    assert.deepStrictEqual(dir('marts'), MARTS.map((m) => `${m.stem}.sql`).sort());
    assert.deepStrictEqual(dir('staging'), STAGING.map((m) => `${m.stem}.sql`).sort());
    assert.deepStrictEqual(dir('reporting'), REPORTING.map((m) => `${m.stem}.sql`).sort());
    // unique-key assertions are generated from each table's declared key; the others are files
    assert.deepStrictEqual(dir('assertions'), ASSERTIONS.filter((a) => a.file).map((a) => `${a.stem}.sql`).sort());
    assert.deepStrictEqual(ASSERTIONS.filter((a) => !a.file).map((a) => a.stem), MARTS.map((m) => `assert_${m.stem}__unique_key`));
  });

  for (const m of MARTS) {
    describe(m.file, () => {
      const sql = readSql(m.file);
      const h = header(sql);

      it('opens with its name and a grain, partition, clustering, unique key and rebuild window', () => {
        assert.equal(sql.split('\n')[0], `-- ${m.stem}`);
        assert.deepStrictEqual(Object.keys(h).sort(), ['clustering', 'grain', 'partition', 'rebuild window', 'unique key']);
      });

      it('states the partition, clustering and unique key of its table definition', () => {
        assert.equal(h.partition!.split(' ')[0], m.table.partition!.column);
        assert.deepStrictEqual(list(h.clustering!), m.table.clustering);
        assert.deepStrictEqual(list(h['unique key']!), m.table.uniqueKey);
      });

      it('is one MERGE into its table that inserts every column in schema order', () => {
        assert.match(sql, new RegExp(`^merge into ${m.table.id.replace('.', '\\.')} as target$`, 'm'));
        assert.equal(sql.match(/^merge /gm)!.length, 1);
        const insert = /when not matched then insert \(([^)]*)\) values \(([^)]*)\)/.exec(sql);
        assert.ok(insert, 'has an insert clause');
        const names = m.table.columns.map((c) => c.name);
        assert.deepStrictEqual(list(insert[1]!.replace(/\s+/g, ' ')), names);
        assert.deepStrictEqual(list(insert[2]!.replace(/\s+/g, ' ')), names.map((n) => `rebuilt.${n}`));
      });

      it('uses only lower-case keywords and the window parameters', () => {
        const code = sql.replace(/--.*$/gm, '').replace(/'[^']*'/g, "''");
        assert.doesNotMatch(code, /\b(SELECT|FROM|WHERE|GROUP BY|MERGE|WITH|JOIN)\b/);
        // exactly what the runner binds for a window (martParams), the window bounds among them
        const bound = Object.keys(martParams({ mart: m.stem, windowStart: new Date(0), windowEnd: new Date(0) })).map((n) => `@${n}`);
        const used = [...new Set(code.match(/@\w+/g))].sort();
        assert.deepStrictEqual(used.filter((p) => !bound.includes(p)), []);
        assert.ok(used.includes('@window_start') && used.includes('@window_end'), used.join(', '));
      });
    });
  }
});
