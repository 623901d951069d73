// ingestPosBatch: the POS bucket's Pub/Sub notification of a new object → split the file into entries
// (adapters/gcp/pos-batch-reader.ts, the shared ingest code) → publish them in bounded batches to the
// POS topic, so POS takes the same path, archive and dedupe as every other source. The entries'
// received_at is the object's creation time: a retry republishes byte-identical messages, and
// revalidation judges them against when the file arrived.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { PosFileError, type PosObjectRef } from '../adapters/gcp/pos-batch-reader.js';
import { MessageTooLargeError, type Logger, type Publisher } from '../pipeline/ports.js';
import { readPushRequest } from './push.js';
import { errorDetail } from '../pipeline/errors.js';
import { ack, badRequest, retry } from './respond.js';

export interface IngestPosBatchDeps {
  read(ref: PosObjectRef): Promise<{ entries: string[] }>;
  publisher: Publisher;
  logger: Logger;
}

/** The object resource a JSON_API_V1 bucket notification carries as its data. */
const ObjectResource = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.string().optional(),
  contentType: z.string().optional(),
  timeCreated: z.iso.datetime({ offset: true }).optional(),
});

export function createIngestPosBatchHandler(deps: IngestPosBatchDeps): HttpFunction {
  return async (req, res) => {
    const read = readPushRequest(req);
    if (!read.ok) return badRequest(res, read.error);
    const { delivery } = read;
    const base = { message_id: delivery.id };
    const eventType = delivery.attributes.eventType;
    if (eventType !== 'OBJECT_FINALIZE') return ack(res, { ...base, outcome: 'ignored', event_type: eventType ?? null });

    let object: z.infer<typeof ObjectResource>;
    try {
      object = ObjectResource.parse(JSON.parse(delivery.data.toString('utf8')));
    } catch (err) {
      deps.logger.error({ ...base, err: errorDetail(err) }, 'bucket notification without an object resource; acknowledged');
      return ack(res, { ...base, outcome: 'unreadable_notification' });
    }
    const ref: PosObjectRef = {
      bucket: object.bucket,
      name: object.name,
      ...(object.generation ? { generation: object.generation } : {}),
      ...(object.contentType ? { contentType: object.contentType } : {}),
    };
    const file = `gs://${ref.bucket}/${ref.name}`;

    let entries: string[];
    try {
      ({ entries } = await deps.read(ref));
    } catch (err) {
      if (err instanceof PosFileError) {
        // No entry can be formed from this file: say so loudly (log-based alert), do not retry forever.
        deps.logger.error({ ...base, file, err: err.message }, 'POS file cannot be split into entries');
        return ack(res, { ...base, outcome: 'unreadable_file', file, error: err.message });
      }
      deps.logger.warn({ ...base, file, err: errorDetail(err) }, 'reading the POS file failed; will retry');
      return retry(res, `reading ${file} failed`);
    }

    const receivedAt = object.timeCreated ? new Date(object.timeCreated) : delivery.publishTime;
    try {
      const ids = entries.length === 0 ? [] : await deps.publisher.publish([{ receivedAt, attributes: { source: 'pos' }, entries }]);
      deps.logger.info({ ...base, file, entries: entries.length, messages: ids.length }, 'POS file published');
      return ack(res, { ...base, outcome: 'published', file, entries: entries.length, messages: ids.length });
    } catch (err) {
      if (err instanceof MessageTooLargeError) {
        // An entry over Pub/Sub's message limit: nothing of the file was published, and every retry
        // would fail the same way until the file is dead-lettered. Refused as a whole, loudly.
        deps.logger.error({ ...base, file, err: err.message }, 'POS file has an entry too large to publish');
        return ack(res, { ...base, outcome: 'entry_too_large', file, error: err.message });
      }
      deps.logger.warn({ ...base, file, err: errorDetail(err) }, 'publishing POS entries failed; will retry');
      return retry(res, `publishing the entries of ${file} failed`);
    }
  };
}
