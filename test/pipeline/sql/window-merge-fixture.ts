// A window-replacing mart MERGE of the shape sql/marts uses, shared by the dialect's rewrite test and
// the local warehouse's test that runs it against DuckDB.
export const WINDOW_MERGE_SQL = `-- mart comment
merge into m.t as target
using (
with source as (select 'x' as k, 2 as h, 7 as n union all select 'y', 3, 8)
select * from source
) as rebuilt
on false
when not matched by source
  and target.h >= $lo
  and target.h < $hi
  then delete
when not matched then insert (k, h, n) values (rebuilt.k, rebuilt.h, rebuilt.n)`;
