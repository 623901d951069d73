// How the Pub/Sub-driven functions answer. A push subscription treats 2xx as an acknowledgement and
// anything else as a nack that its retry policy redelivers, up to the dead-letter policy's attempts.
import type { Response } from '@google-cloud/functions-framework';

/** Acknowledge: the outcome is durably written (or there is nothing to do). */
export function ack(res: Response, body: object): void {
  res.status(200).json(body);
}

/** Transient failure: the subscription redelivers the message later. */
export function retry(res: Response, message: string): void {
  res.status(500).json({ error: { code: 'internal', message } });
}

/** Not a Pub/Sub delivery at all: nothing a redelivery could fix. */
export function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: { code: 'invalid_body', message } });
}
