// Where a `tillstream` command's stores come from. TILLSTREAM_RUNTIME=gcp points `dimensions load` and
// `keys create|list|revoke` at the deployment (the Cloud Storage dimensions store mirrored into
// BigQuery, the Bigtable keys and series tables, the pepper from TILLSTREAM_KEY_PEPPER), and gives
// `marts` and `reprocess` the whole gcp runtime (BigQuery, Bigtable, the payload archive); by default
// they use the local data directory as before. Commands read the same five stores either way, so the
// only fork is here, in picking adapters. Commands without a gcp variant refuse to run under gcp
// rather than quietly writing a local data directory.
import { selectedRuntime, type RuntimeName } from '../adapters/gcp/config.js';
import type { GcpRuntime } from '../runtime/gcp.js';
import { createIngestStage } from '../pipeline/ingest/stage.js';
import { replacingSink } from '../pipeline/marts/replacing-sink.js';
import type { ReprocessDeps } from '../pipeline/marts/reprocess.js';
import { systemClock, type Clock, type DimensionsStore, type KeyStore, type Logger, type SeriesStore } from '../pipeline/ports.js';
import { createPartialWriter, withSpeedLayer } from '../pipeline/speed/writer.js';
import { UsageError, type CommandContext } from './context.js';
import type { LocalPipeline } from '../runtime/local-writer.js';

/** What the dimensions and keys commands read and write, from whichever runtime is selected. */
export interface CommandStores {
  runtime: RuntimeName;
  dimensions: DimensionsStore;
  keys: KeyStore;
  pepper: Buffer;
  series: SeriesStore;
  clock: Clock;
}

export function localCommandStores(rt: LocalPipeline): CommandStores {
  return { runtime: 'local', dimensions: rt.dimensions, keys: rt.keys, pepper: rt.pepper, series: rt.series, clock: rt.clock };
}

/** The gcp stores: the key store uncached (the command writes and lists), the pepper checked now. */
export function gcpCommandStores(rt: Pick<GcpRuntime, 'dimensions' | 'keys' | 'seriesStore' | 'pepper'>, clock: Clock = systemClock): CommandStores {
  return { runtime: 'gcp', dimensions: rt.dimensions, keys: rt.keys, pepper: rt.pepper(), series: rt.seriesStore, clock };
}

/** What `marts` and `reprocess` run with on gcp: the BigQuery warehouse with its dry run, and every reprocess port. */
export interface GcpMartDeps extends Required<Omit<ReprocessDeps, 'clock'>> {
  clock: Clock;
  warehouse: GcpRuntime['warehouse'];
}

/**
 * The gcp ports of a reprocess: BigQuery (warehouse and raw sink), the Bigtable series and dedupe
 * tables, the Cloud Storage payload archive, and the ingest stage wired as functions/ wires
 * ingestEvents — validation against the deployment's dimensions, the Bigtable dedupe, the BigQuery
 * sink, the speed layer's partials — so a re-validated message is processed as a delivery would be,
 * except that its new rows replace its old ones (pipeline/marts/replacing-sink.ts; a chunk of messages at a time).
 */
export function gcpMartDeps(rt: GcpRuntime, opts: { clock?: Clock; logger?: Logger } = {}): GcpMartDeps {
  const clock = opts.clock ?? systemClock;
  const sink = replacingSink(rt.warehouse, rt.warehouse);
  const stage = withSpeedLayer(
    createIngestStage({ dimensions: () => rt.dimensions.get(), dedupe: rt.dedupe, sink, clock }),
    createPartialWriter({ series: rt.seriesStore, clock }),
    { maxAttempts: rt.config.pubsub.maxDeliveryAttempts, logger: opts.logger },
  );
  return { warehouse: rt.warehouse, series: rt.seriesStore, archive: rt.archive, dedupe: rt.dedupe, stage, clearAhead: (chunk) => sink.clearAhead(chunk), clock };
}

/** A command's stores: the context's own when it selects them, else the local pipeline's. */
export async function commandStores(ctx: CommandContext): Promise<CommandStores> {
  return ctx.stores ? ctx.stores() : localCommandStores(await ctx.runtime());
}

export interface CommandContextOptions {
  /** The command's name, for messages. */
  name: string;
  env?: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** Opens the local pipeline (on first use). */
  openLocal(): Promise<LocalPipeline>;
  /** Builds the gcp runtime from the environment (on first use); tests pass their own. */
  openGcp?(env: NodeJS.ProcessEnv): Promise<GcpRuntime>;
}

async function gcpRuntimeFrom(env: NodeJS.ProcessEnv): Promise<GcpRuntime> {
  // Loaded only when selected: the local CLI never loads the cloud clients.
  const [{ createGcpRuntime }, { parseGcpConfig }] = await Promise.all([import('../runtime/gcp.js'), import('../adapters/gcp/config.js')]);
  return createGcpRuntime(parseGcpConfig(env));
}

/** The context a command runs with, for the runtime TILLSTREAM_RUNTIME selects; close() releases what it opened. */
export function createCommandContext(opts: CommandContextOptions): CommandContext & { runtimeName: RuntimeName; close(): Promise<void> } {
  const env = opts.env ?? process.env;
  const runtimeName = selectedRuntime(env);
  let local: Promise<LocalPipeline> | undefined;
  let gcpRuntime: Promise<GcpRuntime> | undefined;
  let gcp: Promise<CommandStores> | undefined;
  const openLocal = () => (local ??= opts.openLocal());
  const openGcp = () => (gcpRuntime ??= (opts.openGcp ?? gcpRuntimeFrom)(env));
  return {
    runtimeName,
    out: opts.out,
    err: opts.err,
    runtime: async () => {
      if (runtimeName === 'gcp') {
        throw new UsageError(`runs on the local runtime only; unset TILLSTREAM_RUNTIME (it is "gcp")`);
      }
      return openLocal();
    },
    stores: async () => {
      if (runtimeName === 'local') return localCommandStores(await openLocal());
      gcp ??= openGcp().then((rt) => gcpCommandStores(rt));
      return gcp;
    },
    ...(runtimeName === 'gcp' ? { gcp: openGcp } : {}),
    async close() {
      if (local) await (await local.catch(() => undefined))?.close();
    },
  };
}
