// Hostile input proof (issue 8, item 4): a seeded corpus (test/support/hostile-corpus.ts) of bad events and
// bad requests goes through the collector over real HTTP and through the POS file path (NDJSON lines and
// CSV orders) into the local runtime. Nothing crashes; every refused request is answered with the
// contract's status and code and enqueues nothing; every entry of an accepted body ends in exactly the
// end state its case expects — bad ones in raw.rejected_events with their reason and payload, good ones
// in raw.events — and published = accepted + rejected + duplicates. The marts are built over the result.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { openLocalPipeline, type LocalPipeline } from '../../runtime/local-writer.js';
import { createKey } from '../../pipeline/auth/keys.js';
import { totalRejected } from '../../pipeline/contracts/outcomes.js';
import { batchEntries, PosCsvError, POS_CSV_REQUIRED_COLUMNS, posCsvToEntries, splitNdjson } from '../../pipeline/ingest/entries.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import { createCollector } from '../../services/collector/router.js';
import { errorHandler, notFoundHandler } from '../../services/http/errors.js';
import { generateHostileCorpus, INJECTIONS, type Expected, type HostileEvent } from '../support/hostile-corpus.js';
import { seededRandom, totalCounts } from './support.js';

const MAX_EVENT_BYTES = 4096;
const MAX_BODY_BYTES = 16 * 1024;
const PER_CATEGORY = Number(process.env.TILLSTREAM_HOSTILE_PER_CATEGORY ?? 700);

interface Outcome {
  state: Expected | 'duplicate';
  payload?: string;
}

/** Every entry's end state by `message_id:entry_index`, read from the stores. */
async function outcomes(rt: LocalPipeline): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  for (const r of await rt.warehouse.query<{ message_id: string; entry_index: number }>('select message_id, entry_index from raw.events')) {
    out.set(`${r.message_id}:${Number(r.entry_index)}`, { state: 'accepted' });
  }
  for (const r of await rt.warehouse.query<{ message_id: string; entry_index: number; reason: Expected; payload: string }>('select message_id, entry_index, reason, payload from raw.rejected_events')) {
    const k = `${r.message_id}:${Number(r.entry_index)}`;
    assert.ok(!out.has(k), `entry ${k} has two end states`);
    out.set(k, { state: r.reason, payload: r.payload });
  }
  for (const r of await rt.warehouse.query<{ message_id: string; entry_index: number }>('select message_id, entry_index from raw.duplicates')) {
    const k = `${r.message_id}:${Number(r.entry_index)}`;
    assert.ok(!out.has(k), `entry ${k} has two end states`);
    out.set(k, { state: 'duplicate' });
  }
  return out;
}

interface Sent {
  key: string;
  category: string;
  expected: Expected;
  text: string;
}

/** Cases whose end state or kept payload differs from what they expect. */
function mismatches(sent: Sent[], got: Map<string, Outcome>): string[] {
  const bad: string[] = [];
  for (const s of sent) {
    const o = got.get(s.key);
    if (!o) bad.push(`${s.category} ${s.key}: no end state (expected ${s.expected})`);
    else if (o.state !== s.expected) bad.push(`${s.category} ${s.key}: ${o.state}, expected ${s.expected}: ${s.text.slice(0, 200)}`);
    else if (o.payload !== undefined && o.payload !== (s.text.length > MAX_EVENT_BYTES ? s.text.slice(0, MAX_EVENT_BYTES) : s.text)) bad.push(`${s.category} ${s.key}: payload not kept as sent`);
  }
  return bad;
}

describe('hostile input through the collector and the POS file path', function () {
  this.timeout(600_000);
  let dir: string;
  let rt: LocalPipeline;
  let server: Server;
  let base: string;
  let ingestKey: string;
  const sent: Sent[] = [];
  let badTried = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-hostile-'));
    rt = await openLocalPipeline({ dataDir: join(dir, 'data'), command: 'hostile-test', ingest: { maxEventBytes: MAX_EVENT_BYTES } });
    await rt.dimensions.load({
      merchants: [
        { id: 'm1', name: 'One', time_zone: 'Europe/Berlin', currency: 'EUR' },
        { id: 'm2', name: 'Two', time_zone: 'America/New_York', currency: 'USD' },
      ],
      stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte' }],
      fraud_ips: [],
    });
    const made = createKey(rt.pepper, { kind: 'ingest', merchantId: 'm1' });
    await rt.keys.put(made.record);
    ingestKey = made.key;
    const app = express();
    app.use(createCollector({ publisher: rt.bus, keys: rt.keys, pepper: rt.pepper, maxBodyBytes: MAX_BODY_BYTES, rateLimitPerMinute: false }));
    app.use(notFoundHandler());
    app.use(errorHandler());
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: Buffer, contentType: string) =>
    fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ingestKey}`, 'content-type': contentType }, body: new Uint8Array(body) });

  it('answers every refused request with its status and code and enqueues none of it', async () => {
    const { requests } = generateHostileCorpus({ seed: 41, perCategory: PER_CATEGORY, now: new Date(), maxEventBytes: MAX_EVENT_BYTES, maxBodyBytes: MAX_BODY_BYTES });
    const before = rt.bus.publishedEntries();
    const wrong: string[] = [];
    for (const r of requests) {
      const res = await post(r.body, r.contentType);
      const body = (await res.json()) as { error?: { code?: string } };
      if (res.status !== r.status || body.error?.code !== r.code) wrong.push(`${r.category}: ${res.status} ${JSON.stringify(body)} (expected ${r.status} ${r.code})`);
    }
    badTried += requests.length;
    console.log(`      ${requests.length} hostile requests refused`);
    assert.deepEqual(wrong.slice(0, 10), []);
    assert.equal(rt.bus.publishedEntries(), before);
  });

  it('ends every event sent to the collector in the end state its case expects', async () => {
    const { events } = generateHostileCorpus({ seed: 42, perCategory: PER_CATEGORY, now: new Date(), maxEventBytes: MAX_EVENT_BYTES, maxBodyBytes: MAX_BODY_BYTES });
    // NDJSON bodies under the body limit; one bus message each (ids are the bus's sequence numbers).
    let body: HostileEvent[] = [];
    let bytes = 0;
    const flush = async () => {
      if (body.length === 0) return;
      const res = await post(Buffer.concat(body.flatMap((e) => [e.bytes, Buffer.from('\n')])), 'application/x-ndjson');
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { received: body.length, messages: 1 });
      body = [];
      bytes = 0;
    };
    const order: HostileEvent[][] = [];
    for (const e of events) {
      if (bytes + e.bytes.length + 1 > MAX_BODY_BYTES - 64) {
        order.push(body);
        await flush();
      }
      body.push(e);
      bytes += e.bytes.length + 1;
    }
    order.push(body);
    await flush();
    // Message n (1-based) carries body n's entries in order.
    order.forEach((b, m) =>
      b.forEach((e, i) => sent.push({ key: `${String(m + 1).padStart(12, '0')}:${i}`, category: e.category, expected: e.expected, text: e.bytes.toString('utf8') })),
    );
    await rt.runner.drain();
    const got = await outcomes(rt);
    const bad = mismatches(sent, got);
    const kinds = new Set(events.map((e) => e.category));
    badTried += events.filter((e) => e.category !== 'valid').length;
    console.log(`      ${events.length} events through the collector (${kinds.size} categories × ${PER_CATEGORY}; ${events.filter((e) => e.expected === 'accepted').length} good)`);
    assert.deepEqual(bad.slice(0, 10), []);
    const c = await totalCounts(rt);
    assert.equal(c.published, events.length);
    assert.equal(c.accepted + totalRejected(c) + c.duplicates, c.published);
    assert.equal(c.accepted, events.filter((e) => e.expected === 'accepted').length);
  });

  it('ends every line of a hostile POS NDJSON file in the end state its case expects', async () => {
    const { events } = generateHostileCorpus({ seed: 43, perCategory: Math.ceil(PER_CATEGORY / 2), now: new Date(), maxEventBytes: MAX_EVENT_BYTES, maxBodyBytes: MAX_BODY_BYTES });
    // The file as `tillstream ingest` reads it: bytes decoded as UTF-8, split into lines.
    const text = Buffer.concat(events.flatMap((e) => [e.bytes, Buffer.from('\r\n')])).toString('utf8');
    const entries = splitNdjson(text);
    assert.equal(entries.length, events.length);
    const receivedAt = new Date();
    const batches = batchEntries(entries);
    const ids = await rt.bus.publish(batches.map((batch) => ({ receivedAt, attributes: { source: 'pos' as const }, entries: batch })));
    const fileSent: Sent[] = [];
    let k = 0;
    batches.forEach((b, m) => b.forEach((entry, i) => fileSent.push({ key: `${ids[m]}:${i}`, category: events[k]!.category, expected: events[k++]!.expected, text: entry })));
    await rt.runner.drain();
    badTried += events.filter((e) => e.category !== 'valid').length;
    assert.deepEqual(mismatches(fileSent, await outcomes(rt)).slice(0, 10), []);
    const c = await totalCounts(rt);
    assert.equal(c.accepted + totalRejected(c) + c.duplicates, c.published);
  });

  it('ends every order of a hostile POS CSV file in the end state its case expects', async () => {
    const random = seededRandom(44);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const header = [...POS_CSV_REQUIRED_COLUMNS, 'store_id'];
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const ts = () => new Date(Date.now() - int(60_000, 2 * 86_400_000)).toISOString();
    const orders: { rows: string[][]; expected: Expected }[] = [];
    let at = ts();
    const row = (o: Partial<Record<string, string>>): string[] => {
      const v: Record<string, string> = {
        merchant_id: 'm1', order_id: `o${orders.length}`, event_id: `csv-${orders.length}`, event_ts: at, status: 'completed', channel: 'pos', fulfilment: 'dine_in',
        currency: 'EUR', sku: `SKU-${int(1, 50)}`, category: 'pizza', quantity: String(int(1, 5)), unit_price_minor: String(int(100, 2000)), store_id: 's1', ...o,
      };
      return header.map((c) => v[c] ?? '');
    };
    const n = Math.max(500, PER_CATEGORY);
    for (let i = 0; i < n; i++) {
      at = ts(); // order-level columns agree across an order's rows
      const fragment = INJECTIONS[i % INJECTIONS.length]!.replace(/[\u0000-\u001f\u007f]/g, '') + i;
      switch (i % 8) {
        case 0: orders.push({ rows: [row({}), row({ sku: 'SKU-X' })], expected: 'accepted' }); break;
        case 1: orders.push({ rows: [row({ sku: fragment, category: fragment })], expected: 'accepted' }); break;
        case 2: orders.push({ rows: [row({ quantity: ['NaN', '1e3', '0x1F', '9999999999999999', '', '-', '1.5', 'Infinity'][i % 8 === 2 ? (i >> 3) % 8 : 0]! })], expected: 'schema_mismatch' }); break;
        case 3: orders.push({ rows: [row({ event_id: fragment })], expected: 'schema_mismatch' }); break;
        case 4: orders.push({ rows: [row({}), row({ channel: 'online' })], expected: 'schema_mismatch' }); break;
        case 5: orders.push({ rows: [row({ merchant_id: `unknown-${i}` })], expected: 'unknown_merchant' }); break;
        case 6: orders.push({ rows: [row({ event_ts: new Date(Date.now() - int(8, 3000) * 86_400_000).toISOString() })], expected: 'event_too_old' }); break;
        default: orders.push({ rows: [row({ order_id: fragment, unit_price_minor: String(2 ** 60) })], expected: 'schema_mismatch' });
      }
    }
    const csv = [header.join(','), ...orders.flatMap((o) => o.rows.map((r) => r.map(quote).join(',')))].join('\n');
    const entries = posCsvToEntries(csv);
    assert.equal(entries.length, orders.length);
    const batches = batchEntries(entries);
    const ids = await rt.bus.publish(batches.map((batch) => ({ receivedAt: new Date(), attributes: { source: 'pos' as const }, entries: batch })));
    const csvSent: Sent[] = [];
    let k = 0;
    batches.forEach((b, m) => b.forEach((entry, i) => csvSent.push({ key: `${ids[m]}:${i}`, category: 'pos_csv', expected: orders[k++]!.expected, text: entry })));
    await rt.runner.drain();
    badTried += orders.filter((o) => o.expected !== 'accepted').length;
    assert.deepEqual(mismatches(csvSent, await outcomes(rt)).slice(0, 10), []);

    // Files that cannot be read at all are refused whole, with a message, never a crash.
    for (const broken of ['', 'merchant_id,order_id\nm1,o1', `${header.join(',')},__proto__\n`, `"${header.join('","')}\n"unterminated`]) {
      try {
        assert.deepEqual(posCsvToEntries(broken), [], 'an empty file has no entries');
      } catch (err) {
        assert.ok(err instanceof PosCsvError, String(err));
      }
    }
  });

  it('builds the marts over all of it and still reconciles every count', async () => {
    await runMartCycle(rt);
    const c = await totalCounts(rt);
    assert.equal(c.accepted + totalRejected(c) + c.duplicates, c.published);
    const tables = await rt.warehouse.query<{ n: number }>("select count(*) as n from information_schema.tables where table_schema in ('raw', 'marts', 'state')");
    assert.ok(Number(tables[0]!.n) >= 10);
    console.log(`      ${badTried} bad inputs tried; ${c.published} entries reconciled (${c.accepted} accepted, ${totalRejected(c)} rejected, ${c.duplicates} duplicates)`);
  });
});
