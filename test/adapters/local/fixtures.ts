// Test fixtures for the local adapters: ingest writes shaped like the ingest stage's output.
import type { IngestWrite, RawEventRow } from '../../../pipeline/ports.js';

export function eventRow(messageId: string, index: number, eventId: string, over: Partial<RawEventRow> = {}): RawEventRow {
  return {
    event_id: eventId,
    merchant_id: 'm1',
    event_type: 'order',
    source: 'online',
    schema_version: 1,
    event_ts: new Date('2026-11-20T10:15:00Z'),
    received_at: new Date('2026-11-20T10:15:02Z'),
    message_id: messageId,
    entry_index: index,
    store_id: 's1',
    store_city: 'Berlin',
    store_region: 'BE',
    merchant_time_zone: 'Europe/Berlin',
    store_time_zone: 'Europe/Berlin',
    order_id: `o-${eventId}`,
    order_status: 'completed',
    channel: 'online',
    fulfilment: 'delivery',
    delivery_partner: null,
    currency: 'EUR',
    gross_minor: 2500,
    discount_minor: 100,
    net_minor: 2400,
    refund_minor: 0,
    item_count: 2,
    promo_ids: ['p1', 'p2'],
    client_ip_truncated: '203.0.113.0',
    body_json: '{"order_id":"o"}',
    ...over,
  };
}

/** A message's outcome: `n` accepted orders with one line each, one rejected entry, one duplicate. */
export function sampleWrite(messageId: string, n: number, eventPrefix = messageId): IngestWrite {
  const accepted = Array.from({ length: n }, (_, i) => eventRow(messageId, i, `${eventPrefix}-e${i}`));
  return {
    accepted,
    orderLines: accepted.map((e) => ({
      merchant_id: e.merchant_id,
      event_id: e.event_id,
      line_index: 0,
      event_ts: e.event_ts,
      received_at: e.received_at,
      store_id: 's1',
      order_id: e.order_id as string,
      order_status: 'completed',
      sku: 'pizza margherita',
      category: 'pizza',
      quantity: 2,
      unit_price_minor: 1250,
      discount_minor: 100,
    })),
    rejected: [
      {
        message_id: messageId,
        entry_index: n,
        reason: 'schema_mismatch',
        detail: 'body.order_id: required',
        merchant_id: 'm1',
        event_id: `${eventPrefix}-bad`,
        event_type: 'order',
        source: 'online',
        payload: '{"event_id":"bad"}',
        received_at: new Date('2026-11-20T10:15:02Z'),
        rejected_at: new Date('2026-11-20T10:15:03Z'),
      },
    ],
    duplicates: [
      {
        message_id: messageId,
        entry_index: n + 1,
        merchant_id: 'm1',
        event_id: `${eventPrefix}-e0`,
        first_message_id: messageId,
        first_entry_index: 0,
        received_at: new Date('2026-11-20T10:15:02Z'),
      },
    ],
    arrivals: [{ message_id: messageId, merchant_id: 'm1', event_hour: new Date('2026-11-20T10:00:00Z'), received_at: new Date('2026-11-20T10:15:02Z') }],
  };
}
