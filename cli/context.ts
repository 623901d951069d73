// What a command gets: the local runtime (opened on demand) and where to print.
// stdout carries results (the last line of `start --once` and `keys create` is machine-read);
// stderr carries progress and logs.
import type { GcpRuntime } from '../runtime/gcp.js';
import type { LocalPipeline } from '../runtime/local-writer.js';
import type { Clock, DimensionsStore, KeyStore, SeriesStore } from '../pipeline/ports.js';
import type { RuntimeName } from '../runtime/select.js';
import type { ProgressReporter } from './progress.js';

export interface CommandContext {
  runtime(): Promise<LocalPipeline>;
  /**
   * The dimensions, keys and series stores of the runtime TILLSTREAM_RUNTIME selects (cli/runtime-select.ts);
   * a context without it (a command forwarded to `tillstream start`) uses the local pipeline's.
   */
  stores?(): Promise<CommandStores>;
  /** The gcp runtime, present only when TILLSTREAM_RUNTIME=gcp selects it (marts and reprocess use every port). */
  gcp?(): Promise<GcpRuntime>;
  out(line: string): void;
  err(line: string): void;
  /** Progress of long steps on stderr (cli/progress.ts); absent or silent with --quiet and for commands forwarded to `tillstream start`. */
  progress?: ProgressReporter;
}

/** A user mistake: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

/** What the dimensions and keys commands read and write, from whichever runtime is selected. */
export interface CommandStores {
  runtime: RuntimeName;
  dimensions: DimensionsStore;
  keys: KeyStore;
  pepper: Buffer;
  series: SeriesStore;
  clock: Clock;
}

/** A mistake in the command line: ours (UsageError) or node:util parseArgs's (unknown option, missing value). */
export function isUsageError(e: unknown): e is Error {
  return e instanceof UsageError || (e instanceof Error && e.name === 'TypeError' && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'));
}
