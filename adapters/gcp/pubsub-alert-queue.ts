// The alerts topic as the evaluators' queue: one Pub/Sub message per alert (the push subscription
// delivers each to deliverAlert), with the alert id as an attribute for filtering and inspection.
import type { PubSub } from '@google-cloud/pubsub';
import type { AlertQueue } from '../../pipeline/alerts/evaluate.js';

export function createPubSubAlertQueue(pubsub: PubSub, topicName: string): AlertQueue {
  const topic = pubsub.topic(topicName);
  return {
    async enqueue(payloads) {
      // Resolves once Pub/Sub has every message: the evaluator marks them queued only after this.
      await Promise.all(payloads.map((p) => topic.publishMessage({ data: Buffer.from(JSON.stringify(p)), attributes: { alert_id: p.id, merchant_id: p.merchant_id } })));
    },
  };
}
