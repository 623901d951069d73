// End-to-end ingest figure: events/s from an NDJSON file to rows durably in raw.* with every end
// state recorded — published to the durable bus and archived, dedupe claims, raw rows, the speed
// layer's partials, acks — as `tillstream ingest` runs it (publishFile + runner.drain), against a bare
// baseline in the same run: the same file read and JSON.parse'd line by line plus a DuckDB appender
// writing the stage's accepted rows and order lines into a fresh file. Each round uses fresh stores.
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendRows } from '../adapters/local/duckdb-values.js';
import { invariantHolds } from '../pipeline/contracts/outcomes.js';
import type { IngestWrite } from '../pipeline/ports.js';
import { duckdbDdl } from '../pipeline/schema/ddl-duckdb.js';
import { rawEvents, rawOrderLines } from '../pipeline/schema/raw.js';
import { publishFile } from '../runtime/file-ingest.js';
import { openBenchPipeline } from './raw-fill.js';
import { median } from './stats.js';
import { ANCHOR, type BenchWorkload } from './workload.js';

const seconds = (t0: number) => (performance.now() - t0) / 1000;

export interface IngestE2eFigures {
  events: number;
  events_per_s: number;
  baseline_per_s: number;
}

/** The workload's entries as an NDJSON file, in message order. */
export async function writeNdjson(w: BenchWorkload, file: string): Promise<void> {
  await writeFile(file, w.messages.map((m) => m.entries.join('\n')).join('\n') + '\n');
}

/** One pass of the whole pipeline over the file; throws unless every entry reached an end state. */
export async function ingestFileOnce(w: BenchWorkload, file: string, dataDir: string): Promise<number> {
  const rt = await openBenchPipeline(dataDir, w);
  try {
    const runId = rt.newRunId();
    const t0 = performance.now();
    await publishFile(rt, { file, format: 'ndjson', receivedAt: ANCHOR, attributes: { source: 'server', run_id: runId } });
    await rt.runner.drain();
    const s = seconds(t0);
    const counts = await rt.runCounts(runId);
    if (counts.published !== w.entries || !invariantHolds(counts)) throw new Error(`ingest_e2e: end states do not add up: ${JSON.stringify(counts)}`);
    if (rt.bus.pendingCount() !== 0) throw new Error(`ingest_e2e: ${rt.bus.pendingCount()} messages left unacked`);
    return w.entries / s;
  } finally {
    await rt.close();
  }
}

async function bareOnce(file: string, dbFile: string, writes: IngestWrite[], entries: number): Promise<number> {
  const accepted = writes.flatMap((x) => x.accepted);
  const lines = writes.flatMap((x) => x.orderLines);
  const inst = await DuckDBInstance.create(dbFile);
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(duckdbDdl(rawEvents));
    await conn.run(duckdbDdl(rawOrderLines));
    const t0 = performance.now();
    let parsed = 0;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (line === '') continue;
      try {
        JSON.parse(line);
      } catch {
        // the demo mix's malformed entries: parsed work all the same
      }
      parsed++;
    }
    await conn.run('BEGIN TRANSACTION');
    await appendRows(conn, rawEvents, accepted);
    await appendRows(conn, rawOrderLines, lines);
    await conn.run('COMMIT');
    const s = seconds(t0);
    if (parsed !== entries) throw new Error(`ingest_e2e baseline parsed ${parsed} of ${entries} lines`);
    return entries / s;
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

export async function measureIngestE2e(w: BenchWorkload, writes: IngestWrite[], dir: string, log: (s: string) => void, rounds = 3): Promise<IngestE2eFigures> {
  const file = join(dir, 'e2e.ndjson');
  await writeNdjson(w, file);
  const rates: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    bare.push(await bareOnce(file, join(dir, `e2e-bare-${round}.duckdb`), writes, w.entries));
    rates.push(await ingestFileOnce(w, file, join(dir, `e2e-${round}`)));
    log(`  round ${round + 1}: file → raw.* ${Math.round(rates.at(-1)!)} events/s, JSON.parse + appender ${Math.round(bare.at(-1)!)} events/s`);
  }
  return { events: w.entries, events_per_s: Math.round(median(rates)), baseline_per_s: Math.round(median(bare)) };
}
