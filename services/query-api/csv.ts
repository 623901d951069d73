// CSV answers (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted, quotes doubled),
// chosen by `format=csv` or `Accept: text/csv`.
import type { Request } from 'express';

export type CsvValue = string | number | boolean | null | undefined;

const field = (v: CsvValue): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** CSV when asked by format=csv, or by an Accept header that names text/csv before JSON. */
export function wantsCsv(req: Request, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return req.get('accept') !== undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv' && /text\/csv/i.test(req.get('accept')!);
}

export const CSV_TYPE = 'text/csv; charset=utf-8';
