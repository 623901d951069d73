// Where a `tillstream` command's stores come from. TILLSTREAM_RUNTIME=gcp points `dimensions load` and
// `keys create|list|revoke` at the deployment (the Cloud Storage dimensions store mirrored into
// BigQuery, the Bigtable keys and series tables, the pepper from TILLSTREAM_KEY_PEPPER), and gives
// `marts` and `reprocess` the whole gcp runtime (BigQuery, Bigtable, the payload archive); by default
// they use the local data directory as before. Commands read the same five stores either way; which
// adapters serve them is runtime/select.ts's choice, the one fork between runtimes. Commands without a gcp variant refuse to run under gcp
// rather than quietly writing a local data directory.
import type { ProgressReporter } from './progress.js';
import { systemClock, type Clock, type DimensionsStore, type KeyStore, type SeriesStore } from '../pipeline/ports.js';
import type { GcpRuntime } from '../runtime/gcp.js';
import { gcpRuntimeFrom, selectedRuntime, type RuntimeName } from '../runtime/select.js';
import { UsageError, type CommandContext, type CommandStores } from './context.js';
import type { LocalPipeline } from '../runtime/local-writer.js';

export function localCommandStores(rt: LocalPipeline): CommandStores {
  return { runtime: 'local', dimensions: rt.dimensions, keys: rt.keys, pepper: rt.pepper, series: rt.series, clock: rt.clock };
}

/** The gcp stores: the key store uncached (the command writes and lists), the pepper checked now. */
export function gcpCommandStores(rt: Pick<GcpRuntime, 'dimensions' | 'keys' | 'seriesStore' | 'pepper'>, clock: Clock = systemClock): CommandStores {
  return { runtime: 'gcp', dimensions: rt.dimensions, keys: rt.keys, pepper: rt.pepper(), series: rt.seriesStore, clock };
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
  progress?: ProgressReporter;
  /** Opens the local pipeline (on first use). */
  openLocal(): Promise<LocalPipeline>;
  /** Builds the gcp runtime from the environment (on first use); tests pass their own. */
  openGcp?(env: NodeJS.ProcessEnv): Promise<GcpRuntime>;
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
    ...(opts.progress ? { progress: opts.progress } : {}),
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
