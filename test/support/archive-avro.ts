// Objects of the payload archive as the Pub/Sub Cloud Storage subscription writes them: Avro with
// write_metadata, so the subscription name, message id and publish time have fields of their own, the
// attributes are a map and the payload is bytes
// (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions#avroconfig). For the
// archive reader's tests, the permissions recorder and the revalidation benchmark; the reader itself
// decodes with the schema each object carries.
import avro from 'avsc';
import type { ArchiveRecord } from '../../adapters/gcp/gcs-archive.js';

const SUBSCRIPTION_SCHEMA = avro.Type.forSchema({
  type: 'record',
  name: 'PubsubMessage',
  fields: [
    { name: 'subscription_name', type: 'string' },
    { name: 'message_id', type: 'string' },
    { name: 'publish_time', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'attributes', type: { type: 'map', values: 'string' } },
    { name: 'data', type: 'bytes' },
  ],
});

/** One Avro object file holding `records` in order (an iterable, so a large object need not be held whole). */
export async function archiveObject(records: Iterable<ArchiveRecord>): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(SUBSCRIPTION_SCHEMA);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => encoder.on('data', (c: Buffer) => chunks.push(c)).on('end', resolve).on('error', reject));
  for (const r of records) encoder.write(r);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}
