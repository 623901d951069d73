// The one fork between runtimes: TILLSTREAM_RUNTIME picks the adapters (adapters/gcp/config.ts
// parses it). Each runtime's clients load only when it is chosen, so the local CLI and server never
// load the cloud clients and the query API container never opens DuckDB.
import { selectedRuntime, type RuntimeName } from '../adapters/gcp/config.js';
import type { KeyStore, SeriesStore } from '../pipeline/ports.js';
import type { GcpRuntime } from './gcp.js';

export { selectedRuntime, type RuntimeName };

/** The gcp runtime built from the environment's configuration. */
export async function gcpRuntimeFrom(env: NodeJS.ProcessEnv): Promise<GcpRuntime> {
  const [{ createGcpRuntime }, { parseGcpConfig }] = await Promise.all([import('./gcp.js'), import('../adapters/gcp/config.js')]);
  return createGcpRuntime(parseGcpConfig(env));
}

/** What the query API reads, from the selected runtime's adapters. */
export interface ReadStores {
  runtime: RuntimeName;
  series: SeriesStore;
  /** Where the alert settings routes read and write (the series table through the write profile on gcp); default series. */
  alertsSeries?: SeriesStore;
  keys: KeyStore;
  pepper: Buffer;
  close(): Promise<void>;
}

/**
 * gcp: the Bigtable series table, the Bigtable keys table behind a cache with a bounded refresh
 * interval, the pepper mounted as TILLSTREAM_KEY_PEPPER (pepper() throws naming it: a container
 * without its secret fails at start-up). local: the data directory's reader (runtime/local-reader.ts).
 */
export async function openReadStores(env: NodeJS.ProcessEnv = process.env): Promise<ReadStores> {
  const runtime = selectedRuntime(env);
  if (runtime === 'gcp') {
    const rt = await gcpRuntimeFrom(env);
    return { runtime, series: rt.seriesStore, alertsSeries: rt.seriesWriteStore, keys: rt.cachedKeys, pepper: rt.pepper(), close: async () => undefined };
  }
  const { openLocalReader } = await import('./local-reader.js');
  return { runtime, ...(await openLocalReader(env)) };
}
