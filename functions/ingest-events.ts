// ingestEvents: a pushed Pub/Sub batch → the ingest stage → ack or retry. Only wiring and the mapping
// of outcomes (CONVENTIONS.md #1):
//   - processed (every entry accepted, rejected or duplicate, durably written) → 200, acknowledged;
//   - a transient failure (warehouse, dedupe index, dimensions) → 500, the subscription retries;
//   - still failing on the subscription's last delivery attempt → every entry that no attempt stored
//     rejected as processing_failed (settleFailedMessage: the journal says what earlier attempts
//     stored, and the entries' claims are given back), then acknowledged, so nothing reaches the
//     dead-letter topic without a row that says why (if even that write fails, the dead-letter
//     topic keeps it);
//   - a message that is not a Tillstream batch → its data rejected as one invalid_json entry and
//     acknowledged: a retry would fail the same way forever.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { decodeMessage } from '../adapters/gcp/bus-codec.js';
import type { Dimensions } from '../pipeline/contracts/dimensions.js';
import type { IngestConfig } from '../pipeline/ingest/config.js';
import { settleFailedMessage, type IngestStage } from '../pipeline/ingest/stage.js';
import type { Clock, DedupeIndex, InboundMessage, IngestJournal, IngestWrite, Logger, RawSink } from '../pipeline/ports.js';
import { errorDetail } from '../pipeline/errors.js';
import { ack, badRequest, retry } from './respond.js';
import { readPushRequest } from './push.js';

export interface IngestEventsDeps {
  stage: IngestStage;
  sink: RawSink;
  clock: Clock;
  /** The push subscription's dead-letter max delivery attempts. */
  maxDeliveryAttempts: number;
  logger: Logger;
  ingestConfig?: Partial<IngestConfig>;
  /** The stage's journal: what earlier attempts stored, so the last one fails only the rest. */
  journal?: IngestJournal;
  /** The stage's dedupe index: the last attempt gives back the claims of entries it fails. */
  dedupe?: DedupeIndex;
  /** The stage's dimensions: with the journal, the last attempt builds again rows an attempt may have stored. */
  dimensions?: () => Promise<Dimensions>;
}

/** The one rejected row of a message that is not a Tillstream batch. */
export function malformedWrite(msg: InboundMessage, error: string, now: Date, maxPayloadBytes = 64 * 1024): IngestWrite {
  const text = msg.entries[0] ?? '';
  return {
    accepted: [],
    orderLines: [],
    rejected: [
      {
        message_id: msg.id,
        entry_index: 0,
        reason: 'invalid_json',
        detail: error,
        merchant_id: null,
        event_id: null,
        event_type: null,
        source: msg.attributes.source,
        payload: text.length > maxPayloadBytes ? text.slice(0, maxPayloadBytes) : text,
        received_at: msg.receivedAt,
        rejected_at: now,
      },
    ],
    duplicates: [],
    arrivals: [],
  };
}

export function createIngestEventsHandler(deps: IngestEventsDeps): HttpFunction {
  return async (req, res) => {
    const read = readPushRequest(req);
    if (!read.ok) return badRequest(res, read.error);
    const decoded = decodeMessage(read.delivery);
    const msg = decoded.message;
    const base = { message_id: msg.id, delivery_attempt: msg.deliveryAttempt };

    if (!decoded.ok) {
      try {
        await deps.sink.write(malformedWrite(msg, decoded.error, deps.clock.now(), deps.ingestConfig?.maxEventBytes));
      } catch (err) {
        deps.logger.error({ ...base, err: errorDetail(err) }, 'writing the rejection of a malformed message failed; retrying');
        return retry(res, 'writing the rejection failed');
      }
      deps.logger.warn({ ...base, error: decoded.error }, 'malformed message rejected as invalid_json');
      return ack(res, { ...base, outcome: 'malformed', entries: 1, accepted: 0, rejected: { invalid_json: 1 }, duplicates: 0 });
    }

    try {
      const result = await deps.stage(msg);
      return ack(res, { ...base, outcome: 'processed', entries: result.entries, accepted: result.accepted, rejected: result.rejected, duplicates: result.duplicates });
    } catch (err) {
      if (msg.deliveryAttempt < deps.maxDeliveryAttempts) {
        deps.logger.warn({ ...base, err: errorDetail(err) }, 'ingest failed; the subscription will redeliver');
        return retry(res, 'ingest failed; will be retried');
      }
      let settled;
      try {
        settled = await settleFailedMessage(
          { sink: deps.sink, clock: deps.clock, journal: deps.journal, dedupe: deps.dedupe, dimensions: deps.dimensions, config: deps.ingestConfig },
          msg,
          err,
        );
      } catch (writeErr) {
        deps.logger.error({ ...base, err: errorDetail(writeErr) }, 'writing processing_failed rows failed; the message goes to the dead-letter topic');
        return retry(res, 'writing processing_failed rows failed');
      }
      deps.logger.error({ ...base, err: errorDetail(err) }, 'ingest still failing on the last attempt: entries rejected as processing_failed');
      return ack(res, {
        ...base,
        outcome: 'processing_failed',
        entries: settled.entries,
        accepted: settled.accepted,
        rejected: settled.rejected,
        duplicates: settled.duplicates,
      });
    }
  };
}
