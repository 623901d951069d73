// The metrics catalog: which series exist, their dimensions, and each metric's kind.
// Published in the OpenAPI document; the exporter maps mart columns to these names.
//   additive — sums over dimensions and provisional partials are allowed (zero when no data)
//   ratio    — derived from additive metrics; null when the denominator is zero
//   distinct — exact COUNT(DISTINCT) at its own grain; never summed, never provisional
//   gauge    — a level at the bucket's end (closing inventory); carried, not summed

import type { SeriesName } from '../series/row-key.js';

export type MetricKind = 'additive' | 'ratio' | 'distinct' | 'gauge';

export interface MetricDef {
  name: string;
  kind: MetricKind;
  description: string;
}

export interface SeriesDef {
  name: SeriesName;
  description: string;
  /** Allowed dimension sets (each sorted); [] means the merchant total. */
  dimensionSets: string[][];
  grains: ('h' | 'd')[];
  metrics: MetricDef[];
}

const m = (name: string, kind: MetricKind, description: string): MetricDef => ({ name, kind, description });

export const CATALOG: SeriesDef[] = [
  {
    name: 'sales',
    description: 'Orders and revenue, per merchant or per store',
    dimensionSets: [[], ['store']],
    grains: ['h', 'd'],
    metrics: [
      m('orders', 'additive', 'Completed orders'),
      m('items', 'additive', 'Units sold in completed orders'),
      m('gross_revenue_minor', 'additive', 'Gross revenue of completed orders, minor units'),
      m('discount_minor', 'additive', 'Discounts of completed orders, minor units'),
      m('refund_minor', 'additive', 'Amounts refunded or cancelled in the bucket, minor units'),
      m('net_revenue_minor', 'additive', 'Net revenue: completed net minus refunds and cancellations, minor units'),
      m('refunds', 'additive', 'Refund events'),
      m('cancellations', 'additive', 'Cancellation events'),
      m('online_orders', 'additive', 'Completed orders from source online or web'),
      m('pos_orders', 'additive', 'Completed orders from source pos'),
      m('pickup_orders', 'additive', 'Completed pickup orders'),
      m('delivery_orders', 'additive', 'Completed delivery orders'),
      m('dine_in_orders', 'additive', 'Completed dine-in orders'),
      m('average_order_value_minor', 'ratio', 'Net revenue of completed orders per completed order'),
    ],
  },
  {
    name: 'products',
    description: 'Units and revenue per sku',
    dimensionSets: [['sku'], ['sku', 'store']],
    grains: ['h'],
    metrics: [
      m('units', 'additive', 'Units sold'),
      m('orders', 'additive', 'Completed orders containing the sku'),
      m('gross_revenue_minor', 'additive', 'Gross revenue, minor units'),
      m('net_revenue_minor', 'additive', 'Revenue after line discounts, minor units'),
    ],
  },
  {
    name: 'traffic',
    description: 'Page views, visitors and sessions',
    dimensionSets: [[]],
    grains: ['h', 'd'],
    metrics: [
      m('page_views', 'additive', 'Page views'),
      m('visitors', 'distinct', 'Distinct visitors'),
      m('sessions', 'distinct', 'Distinct sessions'),
      m('orders_with_session', 'additive', 'Completed online orders that carry a session id'),
      m('orders_per_session', 'ratio', 'Completed online orders with a session per session'),
    ],
  },
  {
    name: 'inventory',
    description: 'Closing stock per store and sku',
    dimensionSets: [['sku', 'store']],
    grains: ['h'],
    metrics: [
      m('closing_quantity', 'gauge', 'Quantity on hand at the end of the hour'),
      m('low_stock', 'gauge', '1 when closing quantity is below the threshold, else 0'),
    ],
  },
  ...(
    [
      ['pages', 'page', 'Page views by page (the URL path)'],
      ['referrers', 'referrer', "Page views by referring host; '(direct)' without a referrer, '(internal)' from the shop's own pages"],
      ['devices', 'device', 'Page views by device (desktop, mobile, tablet, other)'],
      ['countries', 'country', "Page views by country (ISO 3166-1 alpha-2; '(unknown)' when not sent)"],
    ] as const
  ).map(([name, dimension, description]): SeriesDef => ({
    name,
    description,
    dimensionSets: [[dimension]],
    grains: ['h', 'd'],
    metrics: [
      m('page_views', 'additive', 'Page views'),
      m('visitors', 'distinct', 'Distinct visitors of those page views'),
      m('sessions', 'distinct', 'Distinct sessions of those page views'),
    ],
  })),
  {
    name: 'promotions',
    description: "A promotion's sales in a store on each store-local day it ran, against its baseline",
    dimensionSets: [['promo', 'store']],
    grains: ['d'],
    metrics: [
      m('promo_orders', 'additive', 'Completed orders of the store while the promotion ran'),
      m('promo_net_revenue_minor', 'additive', 'Net revenue of the store while the promotion ran, minor units'),
      m('baseline_weeks', 'gauge', 'Earlier weeks without the promotion averaged for the baseline (0-4)'),
      m('baseline_orders', 'gauge', 'Average completed orders in the same hours of the baseline weeks'),
      m('baseline_net_revenue_minor', 'gauge', 'Average net revenue in the same hours of the baseline weeks, minor units'),
      m('net_revenue_uplift_minor', 'gauge', 'promo_net_revenue_minor minus baseline_net_revenue_minor; null without a baseline'),
      m('net_revenue_lift_ratio', 'ratio', 'promo_net_revenue_minor / baseline_net_revenue_minor; null when the baseline is 0 or missing'),
    ],
  },
];

/** The breakdown series of mart_*_traffic_breakdown, by the mart's dimension column value. */
export const TRAFFIC_BREAKDOWNS = { page: 'pages', referrer: 'referrers', device: 'devices', country: 'countries' } as const;

export function seriesDef(name: string): SeriesDef | undefined {
  return CATALOG.find((s) => s.name === name);
}
