// The speed layer's cell layout in a series row's partial family ('p'), and how a reader turns it
// into values. Qualifiers:
//   <metric>@<message id>   one message's contribution (written before the message is acknowledged)
//   <metric>                the compacted sum of every folded message
//   ~<message id>           marker: this message is folded into the compacted sums
//   !gen                    compaction generation, the compare-and-set token of the compactor
//   !writes                 messages written to the row, counted in the row by every writer
//                           (ReadModifyWriteRow): the compaction trigger shared by all instances
// Metric names contain none of '@', '~', '!'; a message id may contain anything, so a message cell
// is split at its first '@'. Markers are only ever tested by conditional writes, never read: the
// Bigtable adapter leaves them out of range reads, and readers here skip them.
import type { CellValue } from '../ports.js';

export const GENERATION = '!gen';
export const WRITES = '!writes';
export const MARKER_PREFIX = '~';

export const messageCell = (metric: string, messageId: string): string => `${metric}@${messageId}`;
export const marker = (messageId: string): string => MARKER_PREFIX + messageId;

/** The parts of a partial-family qualifier. */
export function parseQualifier(q: string): { kind: 'message'; metric: string; messageId: string } | { kind: 'compacted'; metric: string } | { kind: 'internal' } {
  if (q.startsWith(MARKER_PREFIX) || q.startsWith('!')) return { kind: 'internal' };
  const at = q.indexOf('@');
  if (at < 0) return { kind: 'compacted', metric: q };
  return { kind: 'message', metric: q.slice(0, at), messageId: q.slice(at + 1) };
}

/**
 * A provisional bucket's values: per metric, the compacted sum plus every message cell. Message
 * cells never coexist with their message's marker (see writer.ts), so each message counts once.
 */
export function provisionalValues(cells: Record<string, CellValue>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [q, v] of Object.entries(cells)) {
    const p = parseQualifier(q);
    if (p.kind === 'internal' || v === null) continue;
    out[p.metric] = (out[p.metric] ?? 0) + v;
  }
  return out;
}
