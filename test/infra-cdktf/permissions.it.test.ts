// Permissions from code: every deployed workload runs its real entry point with the environment the
// synthesized stack gives it and the Google clients recorded (support/record-workloads.ts); the
// datasets its statements read or write (ZetaSQL's ExtractTableNamesFromStatement, staging views
// expanded to what they read), the topics it publishes to, the buckets, Bigtable tables and secrets
// it touches become the grants it needs — and the stack must grant its service account exactly those:
// a missing grant fails in production, an extra one is access nobody uses. The hourly marts run the
// scheduled script, analyzed statement by statement the same way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STAGING, readSql } from '../../pipeline/marts/manifest.js';
import { scheduledScript } from '../../pipeline/marts/scheduled-script.js';
import { tableNames } from '../support/zetasql/analyze.js';
import { RUN_WITH_OVERRIDES } from './platform-facts.js';
import { rolesOf, synthesize, type Block, type Synthesized } from './synth.js';
import type { Touch, Workload } from './support/record-workloads.js';

const run = promisify(execFile);
const recorder = fileURLToPath(new URL('./support/record-workloads.ts', import.meta.url));

/** `dataset.table`, whatever the qualification (`project.dataset.table`, backticks). */
const tableId = (name: string) => name.replaceAll('`', '').split('.').slice(-2).join('.');

/** The table a statement writes (MERGE, INSERT, UPDATE, DELETE, CREATE), if any. */
function writtenTable(sql: string): string | undefined {
  const body = sql.replace(/^(\s*--[^\n]*\n)*/, '');
  const m = /^\s*(?:merge\s+(?:into\s+)?|insert\s+(?:into\s+)?|update\s+|delete\s+(?:from\s+)?|create\s+(?:or\s+replace\s+)?(?:table|view)\s+)(`[^`]+`|[\w.-]+)/i.exec(body);
  return m ? tableId(m[1]!) : undefined;
}

/** What each staging view reads: querying a view that is not authorized needs access to its tables too. */
async function viewReads(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const f of STAGING) {
    const sql = readSql(f.file);
    const view = writtenTable(sql)!;
    out.set(view, (await tableNames(sql)).map(tableId).filter((t) => t !== view));
  }
  return out;
}

/** Tables a statement reads and writes, views expanded. */
async function statementTables(sql: string, views: Map<string, string[]>): Promise<{ reads: string[]; writes: string[] }> {
  const written = writtenTable(sql);
  const reads = new Set<string>();
  // A name without a dataset is a temporary table of the script: it lives in the script's session, no grant.
  const pending = (await tableNames(sql)).map(tableId).filter((t) => t !== written && t.includes('.'));
  while (pending.length) {
    const t = pending.pop()!;
    if (reads.has(t)) continue;
    reads.add(t);
    pending.push(...(views.get(t) ?? []));
  }
  return { reads: [...reads], writes: written && written.includes('.') ? [written] : [] };
}

/**
 * The statements of the scheduled script: each EXECUTE IMMEDIATE body on its own, and the script's
 * own statements (DECLARE … DEFAULT expressions as a SELECT of the expression, IF conditions and
 * bodies, INSERTs). A statement of another shape is analyzed as it is, and fails the test if ZetaSQL
 * cannot read it, so nothing the script touches goes unseen.
 */
export function scriptStatements(script: string): string[] {
  const out: string[] = [];
  const rest = script.replace(/execute immediate """([\s\S]*?)"""/g, (_all, inner: string) => {
    out.push(inner);
    return 'execute immediate __inner__';
  });
  const text = rest.replace(/^\s*--[^\n]*$/gm, '');
  // IF … END IF blocks: the condition, then each statement of the body.
  const flat = text.replace(/\bif\s+([\s\S]*?)\s+then\s+([\s\S]*?)\s*end if\s*;/gi, (_all, cond: string, body: string) => {
    out.push(`select ${cond}`);
    return `${body}\n`;
  });
  // FOR … IN (query) DO: the query, then the body's statements; END FOR closes it.
  const loops = flat.replace(/\bfor\s+\w+\s+in\s+\(([\s\S]*?)\)\s+do\b/gi, (_all, query: string) => {
    out.push(query);
    return ';';
  });
  for (const raw of loops.split(';')) {
    let st = raw.trim();
    if (!st) continue;
    if (/^execute immediate __inner__\b/i.test(st)) continue;
    if (/^(raise|end for)\b/i.test(st)) continue;
    // SET x = (expr), SET (x, y) = (select as struct …): the expression.
    const set = /^set\s+(?:\w+|\([\w,\s]+\))\s*=\s*([\s\S]+)$/i.exec(st);
    if (set) {
      out.push(`select ${set[1]!.replace(/^\(\s*select as struct\b/i, '(select')}`);
      continue;
    }
    // CREATE TEMP TABLE t (columns) declares a session table; CREATE TEMP TABLE t AS query reads what the query reads.
    if (/^create\s+temp(?:orary)?\s+table\s+\w+\s*\(/i.test(st)) continue;
    st = st.replace(/^create\s+temp(?:orary)?\s+table\s+\w+\s+as\s+/i, '');
    const declared = /^declare\s+[\w, ]+?\s+[\w<>]+(?:\s+default\s+([\s\S]+))?$/i.exec(st);
    if (declared) {
      if (declared[1]) out.push(`select ${declared[1]}`);
      continue;
    }
    out.push(st);
  }
  return out;
}

type Needs = Map<string, string>;

/**
 * The grants (`<on> <role>`, as rolesOf spells them) a workload's touches need. BigQuery access is
 * per dataset (a dataset access entry) where the stack grants the workload at that level, and per
 * table (table IAM, dataViewer or dataEditor) otherwise: a workload that reads one table of a
 * dataset need not read the rest, and one that reads a dataset and writes one table of it is
 * granted the write on that table alone.
 */
async function neededGrants(s: Synthesized, touches: Touch[], views: Map<string, string[]>, granted: string[]): Promise<string[]> {
  const tables: Needs = new Map();
  const bigtable: Needs = new Map();
  const buckets: Needs = new Map();
  const grants = new Set<string>();
  const dataset = (table: string, access: 'READER' | 'WRITER') => {
    if (tables.get(table) !== 'WRITER') tables.set(table, access);
  };
  for (const t of touches) {
    switch (t.service) {
      case 'bigquery-job': {
        grants.add(`project:${s.config.projectId} roles/bigquery.jobUser`);
        const { reads, writes } = await statementTables(t.resource, views);
        for (const r of reads) dataset(r, 'READER');
        for (const w of writes) dataset(w, 'WRITER');
        break;
      }
      case 'bigquery':
        dataset(t.resource, t.access === 'write' ? 'WRITER' : 'READER');
        break;
      case 'bigtable':
        if (bigtable.get(t.resource) !== 'roles/bigtable.user') bigtable.set(t.resource, t.access === 'write' ? 'roles/bigtable.user' : 'roles/bigtable.reader');
        break;
      case 'storage':
        if (buckets.get(t.resource) !== 'write') buckets.set(t.resource, t.access);
        break;
      case 'pubsub':
        grants.add(`topic:${t.resource} roles/pubsub.publisher`);
        break;
      case 'secret':
        grants.add(`secret:${t.resource} roles/secretmanager.secretAccessor`);
        break;
      case 'run':
        // Overrides need run.jobs.runWithOverrides (platform-facts.ts RUN_WITH_OVERRIDES); plain jobs.run, run.invoker.
        grants.add(`runJob:${t.resource} ${t.op === 'jobs.run(overrides)' ? RUN_WITH_OVERRIDES.role : 'roles/run.invoker'}`);
        break;
    }
  }
  const datasets: Needs = new Map();
  for (const [table, access] of tables) {
    const ds = table.split('.')[0]!;
    // A write to one table of a dataset the workload only reads (the exporter's log in marts) is granted on that table.
    const tableLevel = access === 'WRITER' && granted.includes(`table:${table} roles/bigquery.dataEditor`) && !granted.includes(`dataset:${ds} WRITER`);
    if (!tableLevel && granted.some((g) => g.startsWith(`dataset:${ds} `))) {
      if (datasets.get(ds) !== 'WRITER') datasets.set(ds, access);
    } else {
      grants.add(`table:${table} ${access === 'WRITER' ? 'roles/bigquery.dataEditor' : 'roles/bigquery.dataViewer'}`);
    }
  }
  for (const [ds, access] of datasets) grants.add(`dataset:${ds} ${access}`);
  for (const [table, role] of bigtable) grants.add(`bigtable:${table} ${role}`);
  for (const [bucket, access] of buckets) grants.add(`bucket:${bucket} ${access === 'write' ? 'roles/storage.objectUser' : 'roles/storage.objectViewer'}`);
  return [...grants].sort();
}

const ACCOUNT: Record<Workload | 'martsRunner', string> = {
  ingestEvents: 'ts-ingest-events',
  ingestPosBatch: 'ts-ingest-pos-batch',
  exportMarts: 'ts-export-marts',
  startExport: 'ts-start-export',
  reprocess: 'ts-reprocess',
  collect: 'ts-collect',
  queryApi: 'ts-query-api',
  evaluateAlerts: 'ts-evaluate-alerts',
  deliverAlert: 'ts-deliver-alert',
  martsRunner: 'ts-marts-runner',
};

describe('infra-cdktf permissions from code', function () {
  this.timeout(180_000);
  let s: Synthesized;
  let touches: Touch[];
  let views: Map<string, string[]>;
  before(async () => {
    s = synthesize('prod');
    const dir = mkdtempSync(join(tmpdir(), 'tillstream-touches-'));
    try {
      const out = join(dir, 'touches.json');
      await run(process.execPath, ['--import', 'tsx', recorder, out], { maxBuffer: 64 * 1024 * 1024, timeout: 150_000 });
      touches = (JSON.parse(readFileSync(out, 'utf8')) as { touches: Touch[] }).touches;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    views = await viewReads();
  });

  const granted = (w: Workload | 'martsRunner') => rolesOf(s, ACCOUNT[w]);
  /** The environment the stack deploys a workload with. */
  const envOf = (w: Workload): Record<string, string> => {
    if (w === 'queryApi') return Object.fromEntries((s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api').template.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    if (w === 'reprocess') return s.json.output?.['reprocess-environment']?.value as Record<string, string>;
    if (w === 'exportMarts') return Object.fromEntries((s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts').template.template.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    const fn = Object.values(s.resources('google_cloudfunctions2_function')).find((f) => f.build_config.entry_point === w)!;
    return fn.service_config.environment_variables as Record<string, string>;
  };
  const needed = (w: Workload) => neededGrants(s, touches.filter((t) => t.workload === w), views, granted(w));

  it('records every workload doing its work (no workload touched nothing)', () => {
    assert.deepEqual([...new Set(touches.map((t) => t.workload))].sort(), ['collect', 'deliverAlert', 'evaluateAlerts', 'exportMarts', 'ingestEvents', 'ingestPosBatch', 'queryApi', 'reprocess', 'startExport']);
  });

  it('records the alert evaluators queueing alerts and deliverAlert republishing one, on the alerts topic', () => {
    const publishes = (w: Workload) => touches.filter((t) => t.workload === w && t.service === 'pubsub').map((t) => t.resource);
    assert.deepEqual(
      { exportMarts: [...new Set(publishes('exportMarts'))], evaluateAlerts: [...new Set(publishes('evaluateAlerts'))], deliverAlert: publishes('deliverAlert') },
      { exportMarts: ['tillstream-alerts'], evaluateAlerts: ['tillstream-alerts'], deliverAlert: ['tillstream-alerts'] },
    );
  });

  for (const w of ['ingestEvents', 'ingestPosBatch', 'startExport', 'exportMarts', 'collect', 'queryApi', 'evaluateAlerts', 'deliverAlert', 'reprocess'] as const) {
    it(`grants ${w} exactly what its code touches`, async () => {
      assert.deepEqual(granted(w), await needed(w));
    });
  }

  it('records re-validation keeping its checkpoint in a bucket without a retention policy, and writing nothing to the archive', () => {
    const writes = [...new Set(touches.filter((t) => t.workload === 'reprocess' && t.service === 'storage' && t.access === 'write').map((t) => t.resource))];
    const reads = new Set(touches.filter((t) => t.workload === 'reprocess' && t.service === 'storage' && t.access === 'read').map((t) => t.resource));
    assert.deepEqual(writes, [`${s.config.projectId}-tillstream-checkpoints`]);
    assert.ok(reads.has(`${s.config.projectId}-tillstream-archive`), 're-validation reads the archive back');
    assert.equal(s.find('google_storage_bucket', 'name', writes[0]).retention_policy, undefined);
    assert.ok(s.find('google_storage_bucket', 'name', `${s.config.projectId}-tillstream-archive`).retention_policy, 'the production archive keeps every payload for the horizon');
  });

  it('sends every workload whose code writes conditionally, and every other writer of those tables, through one single-cluster profile that allows transactional writes', () => {
    const CONDITIONAL = ['CheckAndMutateRow', 'ReadModifyWriteRow'];
    const bigtable = touches.filter((t) => t.service === 'bigtable');
    const conditionalTables = new Set(bigtable.filter((t) => CONDITIONAL.includes(t.op)).map((t) => t.resource));
    const writers = [...new Set(bigtable.filter((t) => t.access === 'write' && conditionalTables.has(t.resource)).map((t) => t.workload))].sort();
    assert.ok(writers.includes('ingestEvents'), 'ingest claims dedupe keys with CheckAndMutateRow');
    assert.ok(writers.includes('queryApi'), 'the query API writes alert settings into the series table');
    const profileOf = (id: string | undefined) => Object.values(s.resources('google_bigtable_app_profile')).find((p) => p.app_profile_id === id);
    // The query API runs in a server of its own in the recording, built from its own environment, so its
    // calls carry the profiles its clients really use (it reads through one and writes through another);
    // the functions share one recording process, so theirs is their deployed environment's.
    const writeProfiles = (w: Workload): (string | undefined)[] =>
      w === 'queryApi'
        ? [...new Set(bigtable.filter((t) => t.workload === w && t.access === 'write' && conditionalTables.has(t.resource)).map((t) => t.profile))]
        : [envOf(w).TILLSTREAM_BIGTABLE_APP_PROFILE];
    const routes = writers.flatMap((w) =>
      writeProfiles(w).map((id) => {
        const p = profileOf(id);
        return { workload: w, profile: id, cluster: p?.single_cluster_routing?.cluster_id, transactional: p?.single_cluster_routing?.allow_transactional_writes };
      }),
    );
    const one = routes[0]!;
    assert.ok(one.cluster && one.transactional, `${one.workload} writes a table that is written conditionally, through ${one.profile ?? 'the default profile'}`);
    assert.deepEqual(
      routes,
      writers.map((w) => ({ workload: w, profile: one.profile, cluster: one.cluster, transactional: true })),
    );
  });

  // A query job without maximumBytesBilled bills whatever it reads; with it, a job that would bill more
  // fails before it runs and bills nothing
  // (https://cloud.google.com/bigquery/docs/best-practices-costs#limit_query_costs_by_restricting_the_number_of_bytes_billed).
  // Dry runs bill nothing and take no ceiling.
  it('runs every workload that issues BigQuery query jobs with the stack\'s byte ceiling, and every job it issues carries one no higher', () => {
    const jobs = touches.filter((t) => t.service === 'bigquery-job' && !t.dryRun);
    const issuers = [...new Set(jobs.map((t) => t.workload))].sort();
    for (const w of ['ingestEvents', 'exportMarts', 'evaluateAlerts', 'reprocess'] as const) assert.ok(issuers.includes(w), `${w} issues query jobs in the recording (issuers: ${issuers.join(', ')})`);
    assert.deepEqual(
      issuers.filter((w) => !envOf(w).TILLSTREAM_MAX_BYTES_BILLED),
      [],
      'workloads that issue query jobs with no byte ceiling in their environment',
    );
    const ceilingOf = (w: Workload) => String(w === 'reprocess' ? s.config.bigquery.reprocessMaxBytesBilled : s.config.bigquery.maxBytesBilled);
    assert.deepEqual(
      issuers.map((w) => ({ workload: w, TILLSTREAM_MAX_BYTES_BILLED: envOf(w).TILLSTREAM_MAX_BYTES_BILLED })),
      issuers.map((w) => ({ workload: w, TILLSTREAM_MAX_BYTES_BILLED: ceilingOf(w) })),
    );
    const over = jobs
      .filter((t) => t.maximumBytesBilled === undefined || BigInt(t.maximumBytesBilled) > BigInt(ceilingOf(t.workload)))
      .map((t) => `${t.workload}: ${t.maximumBytesBilled ?? 'no ceiling'} on ${t.resource.split('\n')[0]!.slice(0, 80)}`);
    assert.deepEqual(over, [], 'query jobs without a ceiling, or above their workload\'s');
  });

  // Bigtable refuses a mutation naming a family the table was not created with ("unknown family"):
  // families are part of the table's schema (https://cloud.google.com/bigtable/docs/schema-design#column-families).
  it('writes only column families the deployed Bigtable tables have', () => {
    const deployed = new Map(Object.values(s.resources('google_bigtable_table')).map((t) => [t.name as string, (t.column_family as Block[]).map((f) => f.family as string)]));
    const writes = touches.filter((t) => t.service === 'bigtable' && t.access === 'write');
    const named = [...new Set(writes.flatMap((t) => (t.families ?? []).map((f) => `${t.resource}/${f}`)))].sort();
    // The recorder saw the families the workloads name: speed-layer partials, documents, alert claims, dedupe claims.
    for (const expected of ['series/p', 'series/d', 'series/a', 'dedupe/c']) assert.ok(named.includes(expected), `a recorded write names ${expected} (recorded: ${named.join(', ')})`);
    assert.deepEqual(
      named.filter((n) => !deployed.get(n.split('/')[0]!)?.includes(n.split('/')[1]!)),
      [],
      'families written that the deployed table lacks',
    );
  });

  it('grants the hourly marts runner exactly what the scheduled script touches', async () => {
    const script = scheduledScript();
    const statements = scriptStatements(script);
    assert.ok(statements.length > 10, 'the script has its statements');
    const fake: Touch[] = statements.map((sql) => ({ workload: 'exportMarts', service: 'bigquery-job', resource: sql, access: 'read', op: 'script' }));
    assert.deepEqual(granted('martsRunner'), await neededGrants(s, fake, views, granted('martsRunner')));
  });
});
