// A request's one read: the series rows it asks for together with the merchant's documents, in one call
// to the series store (one ReadRows on Bigtable). Freshness changes with every export and is read each
// time; the merchant and stores documents change only when dimensions are loaded, so they are kept in
// process for at most `ttlMs` and refetched as soon as the small dimensions version document, read with
// every request, names another version. Data mirrored before versions existed is never cached: its
// documents simply ride along in the same call.
import type { SeriesRow, SeriesStore } from '../../pipeline/ports.js';
import { DimensionsVersionDocument, FreshnessDocument, MerchantDocument, StoresDocument } from '../../pipeline/series/documents.js';
import { documentKey } from '../../pipeline/series/row-key.js';

export interface MerchantRead {
  rows: SeriesRow[];
  merchant: MerchantDocument | undefined;
  stores: StoresDocument | undefined;
  freshness: FreshnessDocument | undefined;
}

interface Entry {
  version: string;
  at: number;
  merchant: MerchantDocument | undefined;
  stores: StoresDocument | undefined;
  bytes: number;
}

export interface MerchantDocumentsOptions {
  series: SeriesStore;
  now?: () => number;
  /** How long cached dimension documents are trusted without a version change (default 60 s). */
  ttlMs?: number;
  /** Budget for cached documents, measured as their JSON length (default 32 MiB; a 2,000-store chain is ~200 KB). */
  maxBytes?: number;
}

const NO_RANGE = { start: '', end: '' };

export function merchantDocuments(opts: MerchantDocumentsOptions) {
  const now = opts.now ?? Date.now;
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxBytes = opts.maxBytes ?? 32 * 2 ** 20;
  const cache = new Map<string, Entry>();
  let bytes = 0;

  const parse = <T>(schema: { parse(v: unknown): T }, v: unknown): T | undefined => (v === undefined ? undefined : schema.parse(v));
  const remember = (merchantId: string, entry: Entry): void => {
    const old = cache.get(merchantId);
    if (old) bytes -= old.bytes;
    cache.delete(merchantId);
    cache.set(merchantId, entry);
    bytes += entry.bytes;
    // Oldest first: a merchant read again moved to the end when it was refetched.
    for (const [id, e] of cache) {
      if (bytes <= maxBytes || cache.size === 1) break;
      cache.delete(id);
      bytes -= e.bytes;
    }
  };

  return {
    /** The rows of `range` (an empty range reads none) and the merchant's documents, in one read when the cache holds its version. */
    async read(merchantId: string, range: { start: string; end: string } = NO_RANGE): Promise<MerchantRead> {
      const keys = { freshness: documentKey(merchantId, 'freshness'), version: documentKey(merchantId, 'dimensions'), merchant: documentKey(merchantId, 'merchant'), stores: documentKey(merchantId, 'stores') };
      const t = now();
      let entry = cache.get(merchantId);
      if (entry && t - entry.at >= ttlMs) entry = undefined;
      const wanted = entry ? [keys.freshness, keys.version] : [keys.freshness, keys.version, keys.merchant, keys.stores];
      const { rows, documents } = await opts.series.readRangeWithDocuments(range, wanted);
      const version = parse(DimensionsVersionDocument, documents.get(keys.version))?.version;
      const freshness = parse(FreshnessDocument, documents.get(keys.freshness));
      if (entry && entry.version === version) return { rows, merchant: entry.merchant, stores: entry.stores, freshness };
      if (entry) {
        // The dimensions changed since they were cached: the one case that costs a second read.
        const again = await opts.series.readRangeWithDocuments(NO_RANGE, [keys.merchant, keys.stores]);
        documents.set(keys.merchant, again.documents.get(keys.merchant));
        documents.set(keys.stores, again.documents.get(keys.stores));
      }
      const merchant = parse(MerchantDocument, documents.get(keys.merchant));
      const stores = parse(StoresDocument, documents.get(keys.stores));
      if (version !== undefined) {
        remember(merchantId, { version, at: t, merchant, stores, bytes: JSON.stringify([merchant, stores]).length });
      }
      return { rows, merchant, stores, freshness };
    },
  };
}

export type MerchantDocuments = ReturnType<typeof merchantDocuments>;
