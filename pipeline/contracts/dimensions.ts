// The dimensions file (`tillstream dimensions load F`): merchants, stores, fraud IPs, low-stock threshold.
// Documented in docs/dimensions.md.
import { z } from 'zod';
import { CurrencyCode, Id } from './events.js';

export const TimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin');

export const Cidr = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]);

export const MerchantDim = z.strictObject({ id: Id, name: z.string().min(1).max(200), time_zone: TimeZone, currency: CurrencyCode });
export const StoreDim = z.strictObject({
  id: Id,
  merchant_id: Id,
  name: z.string().min(1).max(200),
  city: z.string().max(200).optional(),
  region: z.string().max(200).optional(),
  time_zone: TimeZone.optional(),
});

export const DimensionsFile = z.strictObject({
  merchants: z.array(MerchantDim).default([]),
  stores: z.array(StoreDim).default([]),
  fraud_ips: z.array(Cidr).default([]),
  low_stock_threshold: z.int().min(0).optional(),
});

export type MerchantDim = z.infer<typeof MerchantDim>;
export type StoreDim = z.infer<typeof StoreDim>;
export type DimensionsFile = z.infer<typeof DimensionsFile>;

export const DEFAULT_LOW_STOCK_THRESHOLD = 10;

/** Dimensions as the stages read them: resolved store time zones, lookups by key. */
export interface Dimensions {
  merchants: ReadonlyMap<string, MerchantDim>;
  /** Keyed by `${merchant_id}/${store_id}`; time_zone always resolved. */
  stores: ReadonlyMap<string, StoreDim & { time_zone: string }>;
  fraudIps: readonly string[];
  lowStockThreshold: number;
}

export const storeKey = (merchantId: string, storeId: string): string => `${merchantId}/${storeId}`;

/**
 * The loading rule of `tillstream dimensions load`, shared by every runtime's dimensions store: an upsert
 * of `next` into `base` — merchants by id, stores by (merchant_id, id), fraud IPs added, the low-stock
 * threshold replaced when given.
 */
export function mergeDimensions(base: DimensionsFile, next: DimensionsFile): DimensionsFile {
  const merchants = new Map(base.merchants.map((m) => [m.id, m]));
  for (const m of next.merchants) merchants.set(m.id, m);
  const stores = new Map(base.stores.map((s) => [storeKey(s.merchant_id, s.id), s]));
  for (const s of next.stores) stores.set(storeKey(s.merchant_id, s.id), s);
  const low = next.low_stock_threshold ?? base.low_stock_threshold;
  return {
    merchants: [...merchants.values()],
    stores: [...stores.values()],
    fraud_ips: [...new Set([...base.fraud_ips, ...next.fraud_ips])],
    ...(low === undefined ? {} : { low_stock_threshold: low }),
  };
}

export function resolveDimensions(file: DimensionsFile): Dimensions {
  const merchants = new Map(file.merchants.map((m) => [m.id, m]));
  const stores = new Map<string, StoreDim & { time_zone: string }>();
  for (const s of file.stores) {
    const merchant = merchants.get(s.merchant_id);
    if (!merchant) throw new Error(`store ${s.id} names unknown merchant ${s.merchant_id}`);
    stores.set(storeKey(s.merchant_id, s.id), { ...s, time_zone: s.time_zone ?? merchant.time_zone });
  }
  return { merchants, stores, fraudIps: file.fraud_ips, lowStockThreshold: file.low_stock_threshold ?? DEFAULT_LOW_STOCK_THRESHOLD };
}
