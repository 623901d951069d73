// The wire contract of every event merchants send, schema version 1.
// One envelope, a typed `body` per `event_type`. Money is integer minor units (cents, paise),
// never floating point. docs/events.md documents this file; a test validates its examples.
import { z } from 'zod';

export const SCHEMA_VERSION = 1 as const;

// Ids travel inside Bigtable row keys and URLs, so they are kept to a safe, printable charset.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$/;
export const Id = z.string().regex(ID_PATTERN, 'must be 1-128 of A-Z a-z 0-9 _ . : - starting with a letter or digit');
// SKUs and categories come from merchants' catalogs and may hold spaces or slashes; the row-key codec escapes them.
export const CatalogCode = z.string().min(1).max(128).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

/** ISO 8601 instant with an explicit offset (`Z` or `+05:30`), e.g. `2026-11-21T14:03:00+01:00`. */
export const Instant = z.iso.datetime({ offset: true });
/** Money in integer minor units of the order's currency (e.g. 1299 = 12.99 EUR). */
export const Minor = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR');
export const CountryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as DE');
export const ClientIp = z.union([z.ipv4(), z.ipv6()]);

export const EVENT_TYPES = ['order', 'inventory', 'promotion', 'page_view', 'track'] as const;
export const SOURCES = ['online', 'pos', 'web', 'server'] as const;
export const EventType = z.enum(EVENT_TYPES);
export const Source = z.enum(SOURCES);

export const LineItem = z.strictObject({
  sku: CatalogCode,
  category: CatalogCode,
  quantity: z.int().min(1).max(100_000),
  unit_price_minor: Minor,
  discount_minor: Minor.default(0),
});

export const ORDER_STATUSES = ['completed', 'cancelled', 'refunded'] as const;
export const FULFILMENTS = ['pickup', 'delivery', 'dine_in'] as const;
export const CHANNELS = ['online', 'pos', 'phone', 'marketplace'] as const;

export const OrderBody = z
  .strictObject({
    order_id: Id,
    status: z.enum(ORDER_STATUSES),
    channel: z.enum(CHANNELS),
    fulfilment: z.enum(FULFILMENTS),
    delivery_partner: z.string().min(1).max(64).optional(),
    currency: CurrencyCode,
    line_items: z.array(LineItem).max(500).default([]),
    /** Totals of a completed order: gross = sum(quantity × unit price), net = gross − discount. */
    gross_minor: Minor.default(0),
    discount_minor: Minor.default(0),
    net_minor: Minor.default(0),
    /** Amount given back by a refund or cancellation (partial refunds allowed). */
    refund_minor: Minor.default(0),
    promo_ids: z.array(Id).max(20).default([]),
    client_ip: ClientIp.optional(),
    visitor_id: Id.optional(),
    session_id: Id.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.status === 'completed') {
      if (o.line_items.length === 0) ctx.addIssue({ code: 'custom', path: ['line_items'], message: 'a completed order needs at least one line item' });
      const gross = o.line_items.reduce((s, li) => s + li.quantity * li.unit_price_minor, 0);
      if (gross !== o.gross_minor) ctx.addIssue({ code: 'custom', path: ['gross_minor'], message: `must equal the sum of quantity × unit_price_minor (${gross})` });
      const lineDiscount = o.line_items.reduce((s, li) => s + li.discount_minor, 0);
      if (lineDiscount > o.discount_minor) ctx.addIssue({ code: 'custom', path: ['discount_minor'], message: `must be at least the sum of line discounts (${lineDiscount})` });
      if (o.net_minor !== o.gross_minor - o.discount_minor) ctx.addIssue({ code: 'custom', path: ['net_minor'], message: 'must equal gross_minor − discount_minor' });
      if (o.refund_minor !== 0) ctx.addIssue({ code: 'custom', path: ['refund_minor'], message: 'must be 0 on a completed order' });
    } else if (o.status === 'refunded' && o.refund_minor <= 0) {
      ctx.addIssue({ code: 'custom', path: ['refund_minor'], message: 'a refund must carry the refunded amount (> 0)' });
    }
  });

export const INVENTORY_REASONS = ['sale', 'restock', 'waste', 'adjust'] as const;
export const ITEM_KINDS = ['product', 'raw_material'] as const;
export const InventoryBody = z.strictObject({
  sku: CatalogCode,
  item_kind: z.enum(ITEM_KINDS).default('product'),
  quantity_on_hand: z.int().min(-1_000_000_000).max(1_000_000_000),
  delta: z.int().min(-1_000_000_000).max(1_000_000_000),
  reason: z.enum(INVENTORY_REASONS),
});

export const PROMOTION_KINDS = ['price_reduction', 'newspaper_ad', 'display', 'coupon', 'bundle', 'loyalty', 'other'] as const;
export const PromotionBody = z
  .strictObject({
    promo_id: Id,
    kind: z.enum(PROMOTION_KINDS),
    starts_at: Instant,
    ends_at: Instant,
    /** Stores the promotion runs in; empty means every store of the merchant. */
    store_ids: z.array(Id).max(5000).default([]),
    name: z.string().max(200).optional(),
  })
  .refine((p) => Date.parse(p.ends_at) > Date.parse(p.starts_at), { path: ['ends_at'], message: 'must be after starts_at' });

export const DEVICES = ['desktop', 'mobile', 'tablet', 'other'] as const;
const WebContext = {
  visitor_id: Id,
  session_id: Id,
  device: z.enum(DEVICES).default('other'),
  country: CountryCode.optional(),
  user_agent: z.string().max(512).optional(),
  client_ip: ClientIp.optional(),
};

export const PageViewBody = z.strictObject({
  url: z.url().max(2048),
  referrer: z.union([z.url().max(2048), z.literal('')]).optional(),
  title: z.string().max(512).optional(),
  ...WebContext,
});

export const TrackBody = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case, 1-64 characters'),
  url: z.url().max(2048).optional(),
  properties: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()])).default({})
    .refine((p) => Object.keys(p).length <= 50, { message: 'at most 50 properties' }),
  ...WebContext,
});

const envelope = {
  event_id: Id,
  merchant_id: Id,
  event_ts: Instant,
  source: Source,
  schema_version: z.literal(SCHEMA_VERSION),
  store_id: Id.optional(),
};

export const Event = z.discriminatedUnion('event_type', [
  z.strictObject({ ...envelope, event_type: z.literal('order'), body: OrderBody }),
  z.strictObject({ ...envelope, event_type: z.literal('inventory'), body: InventoryBody }),
  z.strictObject({ ...envelope, event_type: z.literal('promotion'), body: PromotionBody }),
  z.strictObject({ ...envelope, event_type: z.literal('page_view'), body: PageViewBody }),
  z.strictObject({ ...envelope, event_type: z.literal('track'), body: TrackBody }),
]);

export type Event = z.infer<typeof Event>;
export type EventInput = z.input<typeof Event>;
export type OrderEvent = Extract<Event, { event_type: 'order' }>;
export type InventoryEvent = Extract<Event, { event_type: 'inventory' }>;
export type PromotionEvent = Extract<Event, { event_type: 'promotion' }>;
export type PageViewEvent = Extract<Event, { event_type: 'page_view' }>;
export type TrackEvent = Extract<Event, { event_type: 'track' }>;
export type EventTypeName = (typeof EVENT_TYPES)[number];
export type SourceName = (typeof SOURCES)[number];

/** JSON Schema (draft 2020-12) of the wire format, generated from the zod types above. */
export function eventJsonSchema(): object {
  return z.toJSONSchema(Event, { io: 'input', unrepresentable: 'any' });
}
