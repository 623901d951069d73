// A seeded workload for the marts: three merchants in America/New_York (with its DST change),
// Asia/Kolkata (+05:30) and Asia/Kathmandu (+05:45); orders with refunds and cancellations, late POS
// batches, web traffic, inventory and second copies of events. The same seed gives the same events.
import type { EventInput } from '../../../pipeline/contracts/events.js';
import { mulberry32 } from '../../support/random.js';
import { inventory, order, pageView, type FixtureEvent } from './support.js';

export const WORKLOAD_DIMS = {
  merchants: [
    { id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' },
    { id: 'm_in', name: 'Retail IN', time_zone: 'Asia/Kolkata', currency: 'INR' },
    { id: 'm_np', name: 'Shop NP', time_zone: 'Asia/Kathmandu', currency: 'NPR' },
  ],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown' },
    { id: 's2', merchant_id: 'm_ny', name: 'Delhi', time_zone: 'Asia/Kolkata' },
    { id: 's_empty', merchant_id: 'm_ny', name: 'Closed' },
    { id: 'k1', merchant_id: 'm_in', name: 'Mumbai' },
    { id: 'k2', merchant_id: 'm_in', name: 'Pune' },
    { id: 'n1', merchant_id: 'm_np', name: 'Thamel' },
  ],
  low_stock_threshold: 10,
};

const STORES: Record<string, (string | undefined)[]> = { m_ny: ['s1', 's2', undefined], m_in: ['k1', 'k2'], m_np: ['n1', undefined] };
const CURRENCY: Record<string, string> = { m_ny: 'USD', m_in: 'INR', m_np: 'NPR' };
const SKUS = ['pz-margherita', 'pz-pepperoni', 'soda', 'tee shirt/large'];
const WEB_PATHS = ['/', '/menu', '/menu?size=large', '/p/pz-margherita#reviews', '/cart'];
const WEB_REFERRERS = [undefined, 'https://www.search.example/?q=pizza', 'https://shop.example/menu', '', 'https://social.example/post/1', 'https://news.example/'];
const WEB_DEVICES = ['mobile', 'desktop', 'tablet', undefined, 'mobile', 'mobile', 'desktop'] as const;
const WEB_COUNTRIES = ['US', 'IN', undefined, 'NP', 'US', 'GB', 'DE', 'US'];

/** `n` events from `start` over `hours`, deterministic for a seed. */
export function workload(seed: number, n: number, start: Date, hours: number): FixtureEvent[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: FixtureEvent[] = [];
  const completed: { merchant: string; store?: string; orderId: string; at: number; net: number }[] = [];
  for (let i = 0; i < n; i++) {
    const merchant = pick(Object.keys(STORES));
    const at = start.getTime() + Math.floor(rnd() * hours * 3600) * 1000;
    const iso = new Date(at).toISOString();
    const r = rnd();
    let event: EventInput;
    if (r < 0.45) {
      const store = pick(STORES[merchant]!);
      const orderId = `o${i}`;
      const lines = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({
        sku: pick(SKUS),
        category: rnd() < 0.5 ? 'food' : 'drink',
        quantity: 1 + Math.floor(rnd() * 3),
        unit_price_minor: 100 + Math.floor(rnd() * 2000),
        discount_minor: rnd() < 0.2 ? 50 : 0,
      }));
      const source = store ? pick(['pos', 'online'] as const) : 'web';
      const session = source !== 'pos' && rnd() < 0.6 ? `sess${Math.floor(rnd() * 40)}` : undefined;
      event = order({ merchant, store, at: iso, orderId, currency: CURRENCY[merchant]!, source, fulfilment: pick(['pickup', 'delivery', 'dine_in'] as const), lines, discount: rnd() < 0.1 ? 500 : 0, session });
      const b = (event as { body: { net_minor: number } }).body;
      completed.push({ merchant, store, orderId, at, net: b.net_minor });
    } else if (r < 0.55 && completed.length > 0) {
      const o = pick(completed);
      const later = new Date(o.at + Math.floor(rnd() * 5 * 3600) * 1000).toISOString();
      const status = rnd() < 0.5 ? 'refunded' : 'cancelled';
      event = order({ merchant: o.merchant, store: o.store, at: later, orderId: o.orderId, currency: CURRENCY[o.merchant]!, status, refund: Math.max(1, Math.floor(o.net * rnd())) });
    } else if (r < 0.85) {
      // Pages, referrers, devices and countries follow i, so the seeded draws (and every other event) stay as they were.
      const web = {
        url: `https://shop.example${WEB_PATHS[i % WEB_PATHS.length]}`,
        referrer: WEB_REFERRERS[i % WEB_REFERRERS.length],
        device: WEB_DEVICES[i % WEB_DEVICES.length],
        country: WEB_COUNTRIES[i % WEB_COUNTRIES.length],
      };
      event = pageView({ merchant, at: iso, visitor: `v${Math.floor(rnd() * 30)}`, session: `sess${Math.floor(rnd() * 40)}`, track: rnd() < 0.25, web });
    } else {
      const store = pick(STORES[merchant]!.filter((s): s is string => s !== undefined));
      event = inventory({ merchant, store, at: rnd() < 0.1 ? new Date(at - 2 * 86_400_000).toISOString() : iso, sku: pick(SKUS), onHand: Math.floor(rnd() * 30) - 2 });
    }
    // POS batches arrive late (up to 15 minutes); a few events arrive twice (a second copy in raw).
    const lag = (event as { source: string }).source === 'pos' ? 60_000 + Math.floor(rnd() * 900_000) : 1000;
    const receivedAt = new Date(Date.parse((event as { event_ts: string }).event_ts) + lag).toISOString();
    out.push({ event, receivedAt, messageId: `msg-${Math.floor(i / 25)}` });
    if (rnd() < 0.02) out.push({ event, receivedAt: new Date(Date.parse(receivedAt) + 3_600_000).toISOString(), messageId: `copy-${i}` });
  }
  return out;
}

