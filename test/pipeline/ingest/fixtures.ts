// Shared fixtures of the ingest tests: dimensions with three merchants in different zones, and
// one valid example of every event type, received at RECEIVED_AT.
import { resolveDimensions, type Dimensions } from '../../../pipeline/contracts/dimensions.js';
import type { InboundMessage, MessageAttributes } from '../../../pipeline/ports.js';

export const RECEIVED_AT = new Date('2026-11-21T12:00:00Z');

export const dimensions: Dimensions = resolveDimensions({
  merchants: [
    { id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' },
    { id: 'curryhouse', name: 'Curry House', time_zone: 'Asia/Kolkata', currency: 'INR' },
    { id: 'webshop', name: 'Web Shop', time_zone: 'America/New_York', currency: 'USD' },
  ],
  stores: [
    { id: 's001', merchant_id: 'pizzaco', name: 'Mitte', city: 'Berlin', region: 'BE' },
    { id: 's002', merchant_id: 'pizzaco', name: 'Soho', city: 'London', region: 'ENG', time_zone: 'Europe/London' },
    { id: 'mum01', merchant_id: 'curryhouse', name: 'Bandra', city: 'Mumbai', region: 'MH' },
  ],
  fraud_ips: ['198.51.100.0/24', '203.0.113.7', '2001:db8:bad::/48'],
});

export const order = () => ({
  event_id: 'ord-1',
  merchant_id: 'pizzaco',
  event_type: 'order',
  event_ts: '2026-11-21T12:55:00+01:00',
  source: 'online',
  schema_version: 1,
  store_id: 's001',
  body: {
    order_id: 'o-1',
    status: 'completed',
    channel: 'online',
    fulfilment: 'delivery',
    delivery_partner: 'bikes',
    currency: 'EUR',
    line_items: [
      { sku: 'MARG-L', category: 'pizza', quantity: 2, unit_price_minor: 1150, discount_minor: 100 },
      { sku: 'COLA', category: 'drinks', quantity: 1, unit_price_minor: 300 },
    ],
    gross_minor: 2600,
    discount_minor: 150,
    net_minor: 2450,
    promo_ids: ['p-1'],
    client_ip: '192.0.2.77',
    visitor_id: 'v-1',
    session_id: 'sess-1',
  },
});

export const inventory = () => ({
  event_id: 'inv-1',
  merchant_id: 'pizzaco',
  event_type: 'inventory',
  event_ts: '2026-11-21T11:30:00Z',
  source: 'server',
  schema_version: 1,
  store_id: 's002',
  body: { sku: 'DOUGH', item_kind: 'raw_material', quantity_on_hand: 40, delta: -5, reason: 'sale' },
});

export const promotion = () => ({
  event_id: 'promo-1',
  merchant_id: 'pizzaco',
  event_type: 'promotion',
  event_ts: '2026-11-21T08:00:00Z',
  source: 'server',
  schema_version: 1,
  body: { promo_id: 'p-1', kind: 'price_reduction', starts_at: '2026-11-22T00:00:00+01:00', ends_at: '2026-11-29T00:00:00+01:00', store_ids: ['s001'] },
});

export const pageView = () => ({
  event_id: 'pv-1',
  merchant_id: 'webshop',
  event_type: 'page_view',
  event_ts: '2026-11-21T11:59:00Z',
  source: 'web',
  schema_version: 1,
  body: {
    url: 'https://shop.example/products/42',
    referrer: 'https://search.example/?q=shoes',
    visitor_id: 'v-9',
    session_id: 'sess-9',
    device: 'mobile',
    country: 'US',
    user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15',
    client_ip: '2001:db8:85a3:1234::7',
  },
});

export const track = () => ({
  event_id: 'tr-1',
  merchant_id: 'webshop',
  event_type: 'track',
  event_ts: '2026-11-21T11:59:30Z',
  source: 'web',
  schema_version: 1,
  body: { name: 'add_to_cart', url: 'https://shop.example/products/42', properties: { sku: 'SHOE-42', price_minor: 5999, gift: false }, visitor_id: 'v-9', session_id: 'sess-9' },
});

export const attributes = (over: Partial<MessageAttributes> = {}): MessageAttributes => ({ source: 'online', ...over });

export const message = (id: string, entries: string[], over: Partial<InboundMessage> = {}): InboundMessage => ({
  id,
  receivedAt: RECEIVED_AT,
  attributes: attributes(),
  entries,
  deliveryAttempt: 1,
  ...over,
});
