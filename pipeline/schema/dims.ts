// Dimension tables, loaded by `tillstream dimensions load`, read by marts for time zones and store attributes.
import { resolveDimensions, type DimensionsFile } from '../contracts/dimensions.js';
import { opt, req, type TableDef } from './types.js';

export const dimMerchants: TableDef = {
  id: 'dims.merchants',
  description: 'One row per merchant.',
  uniqueKey: ['merchant_id'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant id'),
    req('name', 'STRING', 'Display name'),
    req('time_zone', 'STRING', 'IANA time zone; merchant-local days use it'),
    req('currency', 'STRING', 'ISO 4217 currency of every order'),
  ],
};

export const dimStores: TableDef = {
  id: 'dims.stores',
  description: 'One row per store; (merchant_id, store_id) is the key.',
  clustering: ['merchant_id'],
  uniqueKey: ['merchant_id', 'store_id'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant id'),
    req('store_id', 'STRING', 'Store id, unique within its merchant'),
    req('name', 'STRING', 'Display name'),
    opt('city', 'STRING', 'City'),
    opt('region', 'STRING', 'Region'),
    req('time_zone', 'STRING', "IANA time zone (defaults to the merchant's)"),
  ],
};

export const dimSettings: TableDef = {
  id: 'dims.settings',
  description: 'Deployment-wide settings from the dimensions file (one row).',
  uniqueKey: ['low_stock_threshold'],
  columns: [req('low_stock_threshold', 'INT64', 'Closing quantity below which a sku is low on stock')],
};

export const DIM_TABLES: TableDef[] = [dimMerchants, dimStores, dimSettings];

/**
 * The rows of every dims table for a dimensions file, the same in both runtimes: stores carry their
 * resolved time zone (the merchant's when the file gives none).
 */
export function dimensionRows(file: DimensionsFile): { table: TableDef; rows: Record<string, unknown>[] }[] {
  const resolved = resolveDimensions(file);
  return [
    { table: dimMerchants, rows: file.merchants.map((m) => ({ merchant_id: m.id, name: m.name, time_zone: m.time_zone, currency: m.currency })) },
    {
      table: dimStores,
      rows: [...resolved.stores.values()].map((s) => ({
        merchant_id: s.merchant_id,
        store_id: s.id,
        name: s.name,
        city: s.city ?? null,
        region: s.region ?? null,
        time_zone: s.time_zone,
      })),
    },
    { table: dimSettings, rows: [{ low_stock_threshold: resolved.lowStockThreshold }] },
  ];
}
