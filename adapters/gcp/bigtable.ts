// Shared Bigtable plumbing for the series store, the dedupe index and the key store: one client per
// process (metrics exporter off: it needs credentials and would crash an offline process), the table
// layouts with their GC policies, and the helpers that create them (tests and first deployment; in
// production infra-cdktf declares the same families).
import { Bigtable, type Instance, type Table } from '@google-cloud/bigtable';
import { FAMILY_ALERTS, FAMILY_MART, FAMILY_PARTIAL } from '../../pipeline/ports.js';

const clients = new Map<string, Bigtable>();
/**
 * One client per project and app profile. @google-cloud/bigtable 7.x takes the app profile per
 * client (`new Bigtable({ appProfileId })`) and sends it with every data request — ReadRows,
 * MutateRows, CheckAndMutateRow, ReadModifyWriteRow — of every table it opens; unset means the
 * instance's default profile. The emulator is picked up from BIGTABLE_EMULATOR_HOST.
 */
export function bigtableClient(projectId: string, appProfileId?: string): Bigtable {
  const key = `${projectId}/${appProfileId ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = new Bigtable({ projectId, metricsEnabled: false, ...(appProfileId ? { appProfileId } : {}) });
    clients.set(key, client);
  }
  return client;
}

export interface FamilyLayout {
  name: string;
  /** Bigtable GC rule: keep one version; the dedupe family also expires with the maximum event age. */
  rule: { versions: number; age?: { seconds: number }; union?: boolean };
}

/**
 * Series: mart cells ('m'), speed-layer partials ('p'), mirrored JSON documents ('d'), alert claims and
 * the alert merchant index ('a'). A mutation naming a family the table lacks is refused
 * (https://cloud.google.com/bigtable/docs/schema-design#column-families: families are defined with
 * the table), so infra-cdktf creates exactly these (pinned by test/infra-cdktf/stack.test.ts).
 */
export const SERIES_FAMILIES: FamilyLayout[] = [
  { name: FAMILY_MART, rule: { versions: 1 } },
  { name: FAMILY_PARTIAL, rule: { versions: 1 } },
  { name: 'd', rule: { versions: 1 } },
  { name: FAMILY_ALERTS, rule: { versions: 1 } },
];
export const KEYS_FAMILIES: FamilyLayout[] = [{ name: 'k', rule: { versions: 1 } }];
export function dedupeFamilies(maxEventAgeSeconds: number): FamilyLayout[] {
  return [{ name: 'c', rule: { versions: 1, age: { seconds: maxEventAgeSeconds }, union: true } }];
}

/** Creates the table when it does not exist yet (idempotent). */
export async function ensureTable(instance: Instance, tableId: string, families: FamilyLayout[]): Promise<Table> {
  const table = instance.table(tableId);
  const [exists] = await table.exists();
  if (!exists) {
    try {
      await instance.createTable(tableId, { families });
    } catch (err) {
      // 6 = ALREADY_EXISTS: a concurrent creator won.
      if ((err as { code?: number }).code !== 6) throw new Error(`creating Bigtable table ${tableId} failed`, { cause: err });
    }
  }
  return table;
}

export { mapLimit } from '../../pipeline/concurrency.js';
