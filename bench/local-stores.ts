// Throughput of the local stores: RawSink bulk writes against a bare DuckDB appender of the same
// rows, the dedupe index's claims, and the durable bus's publish rate. Prints one JSON object.
// Run: npx tsx bench/local-stores.ts [rows]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, LIST, VARCHAR, listValue, timestampTZValue } from '@duckdb/node-api';
import { LocalArchive } from '../adapters/local/archive.js';
import { openLocalRuntime } from '../runtime/local-stores.js';
import { generateWorkload } from '../demo/generator.js';
import { batchEntries } from '../pipeline/ingest/entries.js';
import { processingFailedWrite } from '../pipeline/ingest/stage.js';
import { createIngestPipeline } from '../runtime/ingest-pipeline.js';
import { systemClock } from '../pipeline/ports.js';
import { createRunner } from '../pipeline/runner/consume.js';
import { LocalBus } from '../adapters/local/bus.js';
import { appendRows } from '../adapters/local/duckdb-values.js';
import { LocalWarehouse } from '../adapters/local/warehouse.js';
import type { IngestWrite, RawEventRow } from '../pipeline/ports.js';
import { duckdbDdl } from '../pipeline/schema/ddl-duckdb.js';
import { rawEvents } from '../pipeline/schema/raw.js';

const ROWS = Number(process.argv[2] ?? 100_000);
const PER_MESSAGE = 500;

function row(i: number): RawEventRow {
  const messageId = String(1 + Math.floor(i / PER_MESSAGE)).padStart(12, '0');
  return {
    event_id: `evt-${i}`,
    merchant_id: `m${i % 50}`,
    event_type: 'order',
    source: 'online',
    schema_version: 1,
    event_ts: new Date(Date.UTC(2026, 10, 20) + i * 1000),
    received_at: new Date(Date.UTC(2026, 10, 20) + i * 1000 + 500),
    message_id: messageId,
    entry_index: i % PER_MESSAGE,
    store_id: `s${i % 200}`,
    store_city: 'Berlin',
    store_region: 'BE',
    merchant_time_zone: 'Europe/Berlin',
    store_time_zone: 'Europe/Berlin',
    order_id: `o-${i}`,
    order_status: 'completed',
    channel: 'online',
    fulfilment: 'delivery',
    currency: 'EUR',
    gross_minor: 2500 + (i % 100),
    discount_minor: 100,
    net_minor: 2400 + (i % 100),
    refund_minor: 0,
    item_count: 2,
    promo_ids: i % 3 === 0 ? ['p1'] : [],
    client_ip_truncated: '203.0.113.0',
    body_json: `{"order_id":"o-${i}","line_items":[{"sku":"pizza","quantity":2}]}`,
  };
}

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));
const rows = Array.from({ length: ROWS }, (_, i) => row(i));
const result: Record<string, unknown> = { rows: ROWS, rows_per_message: PER_MESSAGE };

try {
  // 1. bare appenders, no transaction, no idempotency: (a) one appender call per value, the
  //    textbook use; (b) the column-wise data chunks the sink itself uses.
  {
    const inst = await DuckDBInstance.create(join(dir, 'bare.duckdb'));
    const conn = await inst.connect();
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(duckdbDdl(rawEvents));
    const listType = LIST(VARCHAR);
    let t0 = process.hrtime.bigint();
    const appender = await conn.createAppender('events', 'raw');
    for (const r of rows) {
      for (const c of rawEvents.columns) {
        const v = r[c.name];
        if (c.mode === 'REPEATED') appender.appendList(listValue((v as string[] | null) ?? []), listType);
        else if (v == null) appender.appendNull();
        else if (c.type === 'TIMESTAMP') appender.appendTimestampTZ(timestampTZValue(BigInt((v as Date).getTime()) * 1000n));
        else if (c.type === 'INT64') appender.appendBigInt(BigInt(v as number));
        else appender.appendVarchar(v as string);
      }
      appender.endRow();
    }
    appender.flushSync();
    appender.closeSync();
    await conn.run('CHECKPOINT');
    result.bare_appender_rows_per_s = Math.round(ROWS / secs(t0));
    await conn.run('DELETE FROM raw.events');
    await conn.run('CHECKPOINT');
    t0 = process.hrtime.bigint();
    await appendRows(conn, rawEvents, rows);
    await conn.run('CHECKPOINT');
    result.bare_chunk_appender_rows_per_s = Math.round(ROWS / secs(t0));
    // (c) the same, committed per message as the sink must (an ack may only follow a commit).
    await conn.run('DELETE FROM raw.events');
    await conn.run('CHECKPOINT');
    t0 = process.hrtime.bigint();
    for (let i = 0; i < ROWS; i += PER_MESSAGE) await appendRows(conn, rawEvents, rows.slice(i, i + PER_MESSAGE));
    await conn.run('CHECKPOINT');
    result.bare_chunk_appender_per_message_rows_per_s = Math.round(ROWS / secs(t0));
    conn.closeSync();
    inst.closeSync();
  }
  const write = (slice: RawEventRow[]): IngestWrite => ({ accepted: slice, orderLines: [], rejected: [], duplicates: [], arrivals: [] });
  // 2. RawSink, one message (transaction, idempotency check) per 500 rows.
  {
    const wh = await LocalWarehouse.open({ path: join(dir, 'sink.duckdb') });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ROWS; i += PER_MESSAGE) await wh.write(write(rows.slice(i, i + PER_MESSAGE)));
    await wh.run('CHECKPOINT');
    result.raw_sink_rows_per_s = Math.round(ROWS / secs(t0));
    // The same writes again (redeliveries): each replaces its message's rows.
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < ROWS; i += PER_MESSAGE * 10) await wh.write(write(rows.slice(i, i + PER_MESSAGE)));
    result.raw_sink_redelivery_ms_per_message = Number(((secs(t1) * 1000) / Math.ceil(ROWS / (PER_MESSAGE * 10))).toFixed(2));
    // 3. dedupe claims, 500 per call, on top of the rows above.
    const t2 = process.hrtime.bigint();
    for (let i = 0; i < ROWS; i += PER_MESSAGE) {
      await wh.claim(rows.slice(i, i + PER_MESSAGE).map((r) => ({ merchantId: r.merchant_id, eventId: r.event_id, contentHash: 'h', entry: { messageId: r.message_id, index: r.entry_index } })));
    }
    result.dedupe_claims_per_s = Math.round(ROWS / secs(t2));
    await wh.close();
  }
  // 4. RawSink, one big write.
  {
    const wh = await LocalWarehouse.open({ path: join(dir, 'sink-bulk.duckdb') });
    const t0 = process.hrtime.bigint();
    await wh.write(write(rows));
    await wh.run('CHECKPOINT');
    result.raw_sink_single_write_rows_per_s = Math.round(ROWS / secs(t0));
    await wh.close();
  }
  const ratio = (a: string, b: string) => Number(((result[a] as number) / (result[b] as number)).toFixed(2));
  result.raw_sink_vs_bare_appender = ratio('raw_sink_rows_per_s', 'bare_appender_rows_per_s');
  result.raw_sink_vs_bare_chunk_appender = ratio('raw_sink_rows_per_s', 'bare_chunk_appender_rows_per_s');
  result.raw_sink_vs_bare_chunk_appender_per_message = ratio('raw_sink_rows_per_s', 'bare_chunk_appender_per_message_rows_per_s');
  result.raw_sink_single_write_vs_bare_chunk_appender = ratio('raw_sink_single_write_rows_per_s', 'bare_chunk_appender_rows_per_s');
  // 5. bus publish: 20 entries of ~250 bytes per message.
  {
    const archive = new LocalArchive(join(dir, 'archive'));
    const bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    const entries = Array.from({ length: 20 }, (_, i) => JSON.stringify(row(i)).slice(0, 250));
    const message = () => ({ receivedAt: new Date(), attributes: { source: 'online' as const, run_id: 'bench' }, entries });
    let t0 = process.hrtime.bigint();
    const sequential = 300;
    for (let i = 0; i < sequential; i++) await bus.publish([message()]);
    result.bus_publish_sequential_msgs_per_s = Math.round(sequential / secs(t0));
    t0 = process.hrtime.bigint();
    const concurrent = 3000;
    await Promise.all(Array.from({ length: concurrent }, () => bus.publish([message()])));
    result.bus_publish_concurrent_msgs_per_s = Math.round(concurrent / secs(t0));
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 30; i++) await bus.publish(Array.from({ length: 100 }, message));
    result.bus_publish_batched_100_msgs_per_s = Math.round(3000 / secs(t0));
    t0 = process.hrtime.bigint();
    let received = 0;
    for (;;) {
      const got = await bus.receive(64);
      if (got.length === 0) break;
      for (const m of got) await bus.ack(m.id);
      received += got.length;
    }
    result.bus_receive_ack_msgs_per_s = Math.round(received / secs(t0));
    await bus.close();
    await archive.close();
  }
  // 6. end to end: publish generated events, drain them through the real ingest stage.
  for (const [events, perMessage] of [
    [20_000, 500],
    [2_000, 1],
  ] as const) {
    const rt = await openLocalRuntime({ path: join(dir, `e2e-${perMessage}`) });
    const workload = generateWorkload({ events, seed: 'bench', anchor: new Date() });
    await rt.dimensions.load(workload.dimensions);
    // The bare stage: this figure is the bus and the warehouse; the speed layer has its own (speed-layer.ts).
    const stage = createIngestPipeline({ dimensions: () => rt.dimensions.get(), dedupe: rt.warehouse, sink: rt.warehouse, clock: systemClock });
    const runner = createRunner({ bus: rt.bus, stage, sink: rt.warehouse, processingFailedWrite });
    const t0 = process.hrtime.bigint();
    const batches = batchEntries(workload.entries, { maxEntries: perMessage });
    for (let i = 0; i < batches.length; i += 100) {
      await rt.bus.publish(batches.slice(i, i + 100).map((entries) => ({ receivedAt: new Date(), attributes: { source: 'server' as const }, entries })));
    }
    await runner.drain();
    result[`ingest_${perMessage}_per_message_events_per_s`] = Math.round(events / secs(t0));
    await rt.close();
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  await rm(dir, { recursive: true, force: true });
}
