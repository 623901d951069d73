// A POS batch of the demo workload as the CSV file a store's till would upload (the layout documented in
// docs/events.md, "POS CSV files", and read by posCsvToEntries): one row per line item, the rows of one
// order sharing its event id; refunds and cancellations are one row without a line item.
import { POS_CSV_OPTIONAL_COLUMNS, POS_CSV_REQUIRED_COLUMNS } from '../pipeline/ingest/entries.js';

const COLUMNS = [...POS_CSV_REQUIRED_COLUMNS, ...POS_CSV_OPTIONAL_COLUMNS] as const;
type Column = (typeof COLUMNS)[number];

interface OrderJson {
  event_id: string;
  merchant_id: string;
  event_ts: string;
  source: string;
  store_id?: string;
  body: {
    order_id: string;
    status: string;
    channel: string;
    fulfilment: string;
    delivery_partner?: string;
    currency: string;
    line_items?: { sku: string; category: string; quantity: number; unit_price_minor: number; discount_minor?: number }[];
    discount_minor?: number;
    refund_minor?: number;
    promo_ids?: string[];
    client_ip?: string;
    visitor_id?: string;
    session_id?: string;
  };
}

/** RFC 4180 quoting, only where a value needs it. */
function cell(value: string | number | undefined): string {
  const s = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of POS order events (NDJSON lines of one batch), header first. */
export function posBatchCsv(lines: readonly string[]): string {
  const rows: string[] = [COLUMNS.join(',')];
  for (const line of lines) {
    const e = JSON.parse(line) as OrderJson;
    const b = e.body;
    const items = b.line_items ?? [];
    const lineDiscount = items.reduce((s, li) => s + (li.discount_minor ?? 0), 0);
    const order: Partial<Record<Column, string | number>> = {
      merchant_id: e.merchant_id,
      order_id: b.order_id,
      event_id: e.event_id,
      event_ts: e.event_ts,
      status: b.status,
      channel: b.channel,
      fulfilment: b.fulfilment,
      currency: b.currency,
      store_id: e.store_id,
      source: e.source,
      delivery_partner: b.delivery_partner,
      order_discount_minor: (b.discount_minor ?? 0) - lineDiscount || undefined,
      refund_minor: b.refund_minor || undefined,
      promo_ids: b.promo_ids && b.promo_ids.length > 0 ? b.promo_ids.join(';') : undefined,
      client_ip: b.client_ip,
      visitor_id: b.visitor_id,
      session_id: b.session_id,
    };
    const lineRows: Partial<Record<Column, string | number>>[] =
      items.length > 0
        ? items.map((li) => ({ sku: li.sku, category: li.category, quantity: li.quantity, unit_price_minor: li.unit_price_minor, line_discount_minor: li.discount_minor || undefined }))
        : [{}];
    for (const lr of lineRows) rows.push(COLUMNS.map((c) => cell(lr[c] ?? order[c])).join(','));
  }
  return `${rows.join('\n')}\n`;
}
