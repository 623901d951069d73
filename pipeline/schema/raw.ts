// Raw tables: what ingest writes. Marts never change them; reprocessing reads them.
// The values a column may hold are read from the wire contract, not restated.
import {
  CHANNELS,
  DEVICES,
  EVENT_TYPES,
  FULFILMENTS,
  INVENTORY_REASONS,
  ITEM_KINDS,
  ORDER_STATUSES,
  PROMOTION_KINDS,
  SOURCES,
} from '../contracts/events.js';
import { opt, rep, req, type TableDef } from './types.js';

const oneOf = (values: readonly string[]): string => values.join(' | ');

const envelopeColumns = [
  req('event_id', 'STRING', 'Client-made event id; with merchant_id the dedupe key'),
  req('merchant_id', 'STRING', 'Merchant the event belongs to'),
  req('event_type', 'STRING', oneOf(EVENT_TYPES)),
  req('source', 'STRING', oneOf(SOURCES)),
  req('schema_version', 'INT64', 'Wire schema version of the event'),
  req('event_ts', 'TIMESTAMP', 'When the event happened, in UTC'),
  req('received_at', 'TIMESTAMP', 'When Tillstream received the entry'),
  req('message_id', 'STRING', 'Bus message that carried the entry (stable across redeliveries)'),
  req('entry_index', 'INT64', 'Position of the entry in its message'),
  opt('store_id', 'STRING', 'Store of the event, if any'),
  opt('store_city', 'STRING', 'City of the store (enriched from dimensions)'),
  opt('store_region', 'STRING', 'Region of the store (enriched from dimensions)'),
  req('merchant_time_zone', 'STRING', 'IANA time zone of the merchant at ingest'),
  opt('store_time_zone', 'STRING', 'IANA time zone of the store at ingest'),
];

export const rawEvents: TableDef = {
  id: 'raw.events',
  description: 'One row per accepted event. Never changed by marts; partitions are reprocessed, not edited.',
  partition: { column: 'event_ts', granularity: 'DAY' },
  clustering: ['merchant_id', 'event_type'],
  requirePartitionFilter: true,
  uniqueKey: ['merchant_id', 'event_id'],
  columns: [
    ...envelopeColumns,
    // order
    opt('order_id', 'STRING', 'Order id (order events)'),
    opt('order_status', 'STRING', oneOf(ORDER_STATUSES)),
    opt('channel', 'STRING', oneOf(CHANNELS)),
    opt('fulfilment', 'STRING', oneOf(FULFILMENTS)),
    opt('delivery_partner', 'STRING', 'Delivery partner, if any'),
    opt('currency', 'STRING', 'ISO 4217 currency of the amounts'),
    opt('gross_minor', 'INT64', 'Gross amount in minor units'),
    opt('discount_minor', 'INT64', 'Discount in minor units'),
    opt('net_minor', 'INT64', 'Net amount (gross − discount) in minor units'),
    opt('refund_minor', 'INT64', 'Amount refunded or cancelled, in minor units'),
    opt('item_count', 'INT64', 'Sum of line item quantities'),
    rep('promo_ids', 'STRING', 'Promotions applied to the order'),
    opt('client_ip_truncated', 'STRING', 'Client IP truncated to /24 (IPv4) or /48 (IPv6)'),
    // inventory
    opt('sku', 'STRING', 'SKU or raw material (inventory events)'),
    opt('item_kind', 'STRING', oneOf(ITEM_KINDS)),
    opt('quantity_on_hand', 'INT64', 'Quantity on hand after the move'),
    opt('quantity_delta', 'INT64', 'Signed change of the quantity'),
    opt('inventory_reason', 'STRING', oneOf(INVENTORY_REASONS)),
    // promotion
    opt('promo_id', 'STRING', 'Promotion id (promotion events)'),
    opt('promo_kind', 'STRING', oneOf(PROMOTION_KINDS)),
    opt('promo_starts_at', 'TIMESTAMP', 'Start of the promotion'),
    opt('promo_ends_at', 'TIMESTAMP', 'End of the promotion (exclusive)'),
    rep('promo_store_ids', 'STRING', 'Stores of the promotion; empty means all stores'),
    // page_view / track (online orders may carry visitor_id and session_id too)
    opt('url', 'STRING', 'Page URL'),
    opt('referrer', 'STRING', 'Referrer URL'),
    opt('track_name', 'STRING', 'Custom event name (track events)'),
    opt('visitor_id', 'STRING', 'Opaque first-party visitor id'),
    opt('session_id', 'STRING', 'Session id'),
    opt('device', 'STRING', oneOf(DEVICES)),
    opt('country', 'STRING', 'ISO 3166-1 alpha-2 country'),
    req('body_json', 'STRING', 'Normalized body as JSON (client IP truncated)'),
  ],
};

export const rawOrderLines: TableDef = {
  id: 'raw.order_lines',
  description: 'One row per line item of an accepted order event; written with its raw.events row.',
  partition: { column: 'event_ts', granularity: 'DAY' },
  clustering: ['merchant_id', 'sku'],
  requirePartitionFilter: true,
  uniqueKey: ['merchant_id', 'event_id', 'line_index'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('event_id', 'STRING', 'Order event the line belongs to'),
    req('line_index', 'INT64', 'Position of the line in the order'),
    req('event_ts', 'TIMESTAMP', 'Event time of the order event, UTC'),
    req('received_at', 'TIMESTAMP', 'When the order event was received'),
    opt('store_id', 'STRING', 'Store'),
    req('order_id', 'STRING', 'Order id'),
    req('order_status', 'STRING', 'Status of the order event'),
    req('sku', 'STRING', 'SKU'),
    req('category', 'STRING', 'Product category'),
    req('quantity', 'INT64', 'Units'),
    req('unit_price_minor', 'INT64', 'Unit price in minor units'),
    req('discount_minor', 'INT64', 'Line discount in minor units'),
  ],
};

export const rawRejectedEvents: TableDef = {
  id: 'raw.rejected_events',
  description: 'One row per rejected entry, with its reason code, detail and original payload.',
  partition: { column: 'received_at', granularity: 'DAY' },
  clustering: ['reason', 'merchant_id'],
  requirePartitionFilter: true,
  uniqueKey: ['message_id', 'entry_index'],
  columns: [
    req('message_id', 'STRING', 'Bus message that carried the entry'),
    req('entry_index', 'INT64', 'Position of the entry in its message'),
    req('reason', 'STRING', 'Reason code from the closed list'),
    opt('detail', 'STRING', 'Why, for a person: failing paths, limits, the error'),
    opt('merchant_id', 'STRING', 'Merchant, when it could be read'),
    opt('event_id', 'STRING', 'Event id, when it could be read'),
    opt('event_type', 'STRING', 'Event type, when it could be read'),
    req('source', 'STRING', 'Source the entry arrived through'),
    req('payload', 'STRING', 'The original entry text'),
    req('received_at', 'TIMESTAMP', 'When the entry was received'),
    req('rejected_at', 'TIMESTAMP', 'When the rejection was written'),
  ],
};

export const rawDuplicates: TableDef = {
  id: 'raw.duplicates',
  description: 'One row per entry dropped as an exact duplicate of an earlier accepted (merchant_id, event_id).',
  partition: { column: 'received_at', granularity: 'DAY' },
  clustering: ['merchant_id'],
  requirePartitionFilter: true,
  uniqueKey: ['message_id', 'entry_index'],
  columns: [
    req('message_id', 'STRING', 'Bus message that carried the duplicate entry'),
    req('entry_index', 'INT64', 'Position of the entry in its message'),
    req('merchant_id', 'STRING', 'Merchant'),
    req('event_id', 'STRING', 'Event id'),
    req('first_message_id', 'STRING', 'Message of the copy that was accepted'),
    req('first_entry_index', 'INT64', 'Entry index of the copy that was accepted'),
    req('received_at', 'TIMESTAMP', 'When the duplicate was received'),
  ],
};

export const rawArrivals: TableDef = {
  id: 'raw.arrivals',
  description: 'One row per (message, merchant, event hour) ingest touched: what the next mart run must rebuild.',
  partition: { column: 'received_at', granularity: 'DAY' },
  clustering: ['merchant_id'],
  requirePartitionFilter: true,
  uniqueKey: ['message_id', 'merchant_id', 'event_hour'],
  columns: [
    req('message_id', 'STRING', 'Bus message'),
    req('merchant_id', 'STRING', 'Merchant'),
    req('event_hour', 'TIMESTAMP', 'UTC hour of the accepted events'),
    req('received_at', 'TIMESTAMP', 'When the message was received'),
    opt('last_event_at', 'TIMESTAMP', 'Newest event_ts of the message\'s events of that merchant and hour (freshness, without reading raw.events)'),
  ],
};

export const RAW_TABLES: TableDef[] = [rawEvents, rawOrderLines, rawRejectedEvents, rawDuplicates, rawArrivals];
