// Series row keys, shared by Bigtable and the local LMDB store so range semantics are identical:
//   <merchant>#<series>[#<dim>=<value>…]#<grain>#<bucket>
//   m123#sales#store=s9#h#2026112114      (UTC hour start, YYYYMMDDHH)
//   m123#sales#d#20261121                 (merchant-local date, YYYYMMDD)
// Merchant first, so merchants never share a row and one request is one contiguous range scan.
// Components are percent-escaped for '#', '=', '%' and control characters, so any sku is safe
// and no component can forge a separator.
// Bigtable refuses a row key over 4 KiB (https://cloud.google.com/bigtable/quotas#limits-data-size),
// and a dimension value can be longer than that once escaped: a page is the path of a URL of up to
// 2,048 characters, each '=' or '%' of it three bytes escaped and each non-ASCII character up to four.
// A value over MAX_DIMENSION_BYTES escaped keeps its first bytes and a hash of the whole value
// (`<prefix>~<16 hex>`), so every key fits and distinct values keep distinct keys.
import { createHash } from 'node:crypto';

export type Grain = 'h' | 'd';
export type SeriesName = 'sales' | 'products' | 'traffic' | 'inventory' | 'pages' | 'referrers' | 'devices' | 'countries' | 'promotions';

export interface SeriesKey {
  merchantId: string;
  series: SeriesName;
  /** Dimension filters such as { store: 's9' }; encoded in a fixed order (sorted by name). */
  dims: Readonly<Record<string, string>>;
  grain: Grain;
}

/** One key component escaped (see the header). */
export const escape = (s: string): string => s.replace(/[%#=\u0000-\u001f\u007f]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
const unescape = (s: string): string => s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/** Escaped bytes of one dimension value in a key; with ids of 128 characters a key stays far below 4 KiB. */
export const MAX_DIMENSION_BYTES = 1024;
const HASH_MARK = '~';
const HASH_HEX = 16;

/** A dimension value as it appears in a key: escaped, and bounded (see the header). */
export function dimensionValue(value: string): string {
  const e = escape(value);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most values skip the exact count.
  if (e.length * 3 <= MAX_DIMENSION_BYTES || Buffer.byteLength(e) <= MAX_DIMENSION_BYTES) return e;
  const budget = MAX_DIMENSION_BYTES - HASH_MARK.length - HASH_HEX;
  let bytes = 0;
  let end = 0;
  for (const ch of e) {
    const n = ch.length === 2 ? 4 : ch.charCodeAt(0) < 0x80 ? 1 : ch.charCodeAt(0) < 0x800 ? 2 : 3;
    if (bytes + n > budget) break;
    bytes += n;
    end += ch.length;
  }
  // Never end inside an escape: '%' and its two hex digits stay together.
  const pct = e.lastIndexOf('%', end - 1);
  if (pct >= 0 && pct > end - 3) end = pct;
  return e.slice(0, end) + HASH_MARK + createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX);
}

/** Key prefix of one series (everything before the bucket), ending in '#'. */
export function seriesPrefix(k: SeriesKey): string {
  let prefix = escape(k.merchantId) + '#' + k.series + '#';
  const names = Object.keys(k.dims);
  if (names.length > 1) names.sort();
  for (const name of names) prefix += escape(name) + '=' + dimensionValue(k.dims[name]!) + '#';
  return prefix + k.grain + '#';
}

export function hourBucket(hourStart: Date): string {
  return hourBucketOfIso(hourStart.toISOString());
}

/** `2026-11-21T14:00:00.000Z` → `2026112114`, for callers that already hold the ISO string. */
export function hourBucketOfIso(iso: string): string {
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
}

/** `2026-11-21` → `20261121` */
export function dayBucket(localDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(localDate)) throw new Error(`not a local date: ${localDate}`);
  return localDate.replaceAll('-', '');
}

export function bucketToStart(grain: Grain, bucket: string): string {
  if (grain === 'h') return `${bucket.slice(0, 4)}-${bucket.slice(4, 6)}-${bucket.slice(6, 8)}T${bucket.slice(8, 10)}:00:00.000Z`;
  return `${bucket.slice(0, 4)}-${bucket.slice(4, 6)}-${bucket.slice(6, 8)}`;
}

export function encodeRowKey(k: SeriesKey, bucket: string): string {
  return seriesPrefix(k) + bucket;
}

export function decodeRowKey(key: string): SeriesKey & { bucket: string } {
  const parts = key.split('#');
  if (parts.length < 4) throw new Error(`not a series row key: ${key}`);
  const bucket = parts.pop()!;
  const grain = parts.pop() as Grain;
  const [merchant, series, ...dimParts] = parts;
  const dims: Record<string, string> = {};
  for (const p of dimParts) {
    const eq = p.indexOf('=');
    if (eq < 0) throw new Error(`bad dimension in row key: ${key}`);
    dims[unescape(p.slice(0, eq))] = unescape(p.slice(eq + 1));
  }
  if (grain !== 'h' && grain !== 'd') throw new Error(`bad grain in row key: ${key}`);
  return { merchantId: unescape(merchant!), series: series as SeriesName, dims, grain, bucket };
}

/** Half-open key range [start, end) covering buckets from..to (bucket strings, `to` exclusive). */
export function rowRange(k: SeriesKey, fromBucket: string, toBucket: string): { start: string; end: string } {
  const prefix = seriesPrefix(k);
  return { start: prefix + fromBucket, end: prefix + toBucket };
}

/** Keys of mirrored documents (stores list, freshness) live beside the series, under the merchant. */
export function documentKey(merchantId: string, name: 'stores' | 'freshness' | 'merchant' | 'dimensions' | 'rejections'): string {
  return `${escape(merchantId)}#_${name}`;
}
