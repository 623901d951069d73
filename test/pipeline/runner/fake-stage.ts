// A tiny stand-in for the ingest stage, for runner and crash tests: entries are JSON
// {"merchant_id", "event_id", "v"}; anything else is rejected as invalid_json; the dedupe index
// decides accepted / duplicate / conflicting_duplicate, and the outcome goes through the sink.
import { createHash } from 'node:crypto';
import type { StageHooks } from '../../../pipeline/ingest/stage.js';
import type { DedupeClaim, DedupeIndex, InboundMessage, IngestWrite, RawEventRow, RawSink, RejectedRow } from '../../../pipeline/ports.js';

interface Parsed {
  index: number;
  merchant_id: string;
  event_id: string;
  hash: string;
}

export function fakeStage(deps: { dedupe: DedupeIndex; sink: RawSink }) {
  return async (msg: InboundMessage, hooks?: StageHooks): Promise<IngestWrite> => {
    const write: IngestWrite = { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [] };
    const parsed: Parsed[] = [];
    msg.entries.forEach((text, index) => {
      try {
        const o = JSON.parse(text) as { merchant_id?: unknown; event_id?: unknown };
        if (typeof o.merchant_id !== 'string' || typeof o.event_id !== 'string') throw new Error('not an event');
        parsed.push({ index, merchant_id: o.merchant_id, event_id: o.event_id, hash: createHash('sha256').update(text).digest('hex') });
      } catch {
        write.rejected.push(rejected(msg, index, 'invalid_json', text));
      }
    });
    const claims: DedupeClaim[] = parsed.map((p) => ({ merchantId: p.merchant_id, eventId: p.event_id, contentHash: p.hash, entry: { messageId: msg.id, index: p.index } }));
    const claiming = deps.dedupe.claim(claims);
    hooks?.ordered?.(); // as the ingest stage does: later messages may start once the claims are queued
    const verdicts = await claiming;
    parsed.forEach((p, i) => {
      const v = verdicts[i]!;
      if (v.kind === 'new' || v.kind === 'same_entry') write.accepted.push(eventRow(msg, p));
      else if (v.kind === 'duplicate')
        write.duplicates.push({
          message_id: msg.id,
          entry_index: p.index,
          merchant_id: p.merchant_id,
          event_id: p.event_id,
          first_message_id: v.first.messageId,
          first_entry_index: v.first.index,
          received_at: msg.receivedAt,
        });
      else write.rejected.push(rejected(msg, p.index, 'conflicting_duplicate', msg.entries[p.index]!));
    });
    await deps.sink.write(write);
    return write;
  };
}

function eventRow(msg: InboundMessage, p: Parsed): RawEventRow {
  return {
    event_id: p.event_id,
    merchant_id: p.merchant_id,
    event_type: 'track',
    source: msg.attributes.source,
    schema_version: 1,
    event_ts: msg.receivedAt,
    received_at: msg.receivedAt,
    message_id: msg.id,
    entry_index: p.index,
    merchant_time_zone: 'UTC',
    body_json: '{}',
  };
}

function rejected(msg: InboundMessage, index: number, reason: RejectedRow['reason'], payload: string, detail: string | null = null): RejectedRow {
  return {
    message_id: msg.id,
    entry_index: index,
    reason,
    detail,
    merchant_id: null,
    event_id: null,
    event_type: null,
    source: msg.attributes.source,
    payload,
    received_at: msg.receivedAt,
    rejected_at: msg.receivedAt,
  };
}

export function fakeProcessingFailedWrite(msg: InboundMessage, error: unknown, _now: Date): IngestWrite {
  return {
    accepted: [],
    orderLines: [],
    rejected: msg.entries.map((text, i) => rejected(msg, i, 'processing_failed', text, `failed after ${msg.deliveryAttempt} attempts: ${String(error)}`)),
    duplicates: [],
    arrivals: [],
  };
}
