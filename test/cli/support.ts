// What the command-line end-to-end tests share: the `tillstream` bin and the summary it prints.
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');

export interface Summary {
  published: number;
  accepted: number;
  rejected: Record<string, number>;
  duplicates: number;
  mart_rows?: Record<string, number>;
  series_cells?: number;
}

export const sumRejected = (s: Summary): number => Object.values(s.rejected).reduce((a, b) => a + b, 0);
