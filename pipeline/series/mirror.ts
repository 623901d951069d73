// Mirrors each merchant's dimension rows into the series store (documentKey(m, 'merchant' | 'stores')),
// so the query API reads nothing but the series store, then their digest (documentKey(m, 'dimensions')),
// last, so a reader that sees a new version finds the documents it names.
import { hash } from 'node:crypto';
import type { Dimensions } from '../contracts/dimensions.js';
import type { SeriesStore } from '../ports.js';
import type { DimensionsVersionDocument, MerchantDocument, StoresDocument } from './documents.js';
import { documentKey } from './row-key.js';

export async function mirrorDimensionDocuments(series: SeriesStore, dims: Dimensions): Promise<void> {
  const storesByMerchant = new Map<string, StoresDocument['stores']>();
  for (const s of dims.stores.values()) {
    const list = storesByMerchant.get(s.merchant_id) ?? [];
    list.push({ id: s.id, name: s.name, city: s.city ?? null, region: s.region ?? null, time_zone: s.time_zone });
    storesByMerchant.set(s.merchant_id, list);
  }
  for (const m of dims.merchants.values()) {
    const merchant: MerchantDocument = { id: m.id, name: m.name, time_zone: m.time_zone, currency: m.currency };
    const stores: StoresDocument = { stores: (storesByMerchant.get(m.id) ?? []).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
    await series.putDocument(documentKey(m.id, 'merchant'), merchant);
    await series.putDocument(documentKey(m.id, 'stores'), stores);
    const version: DimensionsVersionDocument = { version: hash('sha256', JSON.stringify([merchant, stores]), 'base64url').slice(0, 22) };
    await series.putDocument(documentKey(m.id, 'dimensions'), version);
  }
}
