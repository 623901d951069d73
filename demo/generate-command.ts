// `tillstream generate --out F [--events N] [--merchants N] [--seed S] [--anchor T]`: writes the demo workload
// (NDJSON events, their dimensions file and a manifest of expected end states). Progress goes to stderr; the
// last stdout line is a JSON summary. Returns the exit code instead of exiting, so the CLI dispatcher decides.
import { parseArgs } from 'node:util';
import { writeWorkloadFiles } from './files.js';
import type { Shares } from './generator.js';

export const GENERATE_USAGE = `usage: tillstream generate --out F [--events N] [--merchants N] [--seed S] [--anchor T]
  --out F        NDJSON events file to write; F's dimensions and manifest are written beside it
                 (<F without extension>.dimensions.json, <F without extension>.manifest.json)
  --events N     number of entries to write (default 10000)
  --merchants N  generic merchants besides the pizza chain, the retailer and the web shop (default 0)
  --seed S       any text; the same seed and anchor give the same output (default "tillstream")
  --anchor T     ISO 8601 instant with offset that ends the simulated span (default now)
  --duplicates P share of exact re-sends of earlier entries, 0 to 0.5 (default 0.02)
  --malformed P  share of broken or invalid entries, 0 to 0.5 (default 0.01)
  --late P       share of entries delivered 30 minutes to 3 days late, 0 to 0.5 (default 0.03)`;

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export interface GenerateArgs {
  out: string;
  events: number;
  merchants: number;
  seed: string;
  anchor?: string;
  shares: Partial<Shares>;
}

export class UsageError extends Error {}

function share(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(n >= 0 && n <= 0.5)) throw new UsageError(`--${name} must be a fraction from 0 to 0.5, got "${value}"`);
  return n;
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return n;
}

export function parseGenerateArgs(argv: string[]): GenerateArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', short: 'o' },
        events: { type: 'string', short: 'n' },
        merchants: { type: 'string' },
        seed: { type: 'string' },
        anchor: { type: 'string' },
        duplicates: { type: 'string' },
        malformed: { type: 'string' },
        late: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out F is required');
  const seed = (values.seed as string | undefined) ?? 'tillstream';
  if (seed.length === 0) throw new UsageError('--seed must not be empty');
  const anchor = values.anchor as string | undefined;
  if (anchor !== undefined && (!INSTANT.test(anchor) || Number.isNaN(Date.parse(anchor)))) {
    throw new UsageError(`--anchor must be an ISO 8601 instant with an offset, such as 2026-11-21T12:00:00Z; got "${anchor}"`);
  }
  const shares: Partial<Shares> = {};
  for (const key of ['duplicates', 'malformed', 'late'] as const) {
    const v = share(key, values[key] as string | undefined);
    if (v !== undefined) shares[key] = v;
  }
  if ((shares.duplicates ?? 0.02) + (shares.malformed ?? 0.01) > 0.5) throw new UsageError('--duplicates and --malformed together must not exceed 0.5');
  return {
    out,
    shares,
    events: integer('events', values.events as string | undefined, 10_000, 0, 100_000_000),
    merchants: integer('merchants', values.merchants as string | undefined, 0, 0, 100_000),
    seed,
    ...(anchor !== undefined ? { anchor } : {}),
  };
}

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CommandIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

export async function runGenerateCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(`${GENERATE_USAGE}\n`);
    return 0;
  }
  let args: GenerateArgs;
  try {
    args = parseGenerateArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`tillstream generate: ${error.message}\n${GENERATE_USAGE}\n`);
    return 2;
  }
  const started = Date.now();
  let nextReport = 0.1;
  try {
    const { paths, manifest } = writeWorkloadFiles(args.out, {
      events: args.events,
      merchants: args.merchants,
      seed: args.seed,
      shares: args.shares,
      ...(args.anchor !== undefined ? { anchor: args.anchor } : {}),
      onProgress(written, total) {
        if (total > 0 && written / total >= nextReport) {
          io.stderr(`generate: ${written}/${total} entries (${Math.floor((written / total) * 100)}%)\n`);
          while (written / total >= nextReport) nextReport += 0.1;
        }
      },
    });
    const seconds = (Date.now() - started) / 1000;
    io.stderr(`generate: wrote ${manifest.events} entries in ${seconds.toFixed(1)} s to ${paths.events}; dimensions ${paths.dimensions}; manifest ${paths.manifest}\n`);
    io.stdout(`${JSON.stringify({ events_file: paths.events, dimensions_file: paths.dimensions, manifest_file: paths.manifest, events: manifest.events, anchor: manifest.anchor, expected: manifest.expected })}\n`);
    return 0;
  } catch (error) {
    io.stderr(`tillstream generate: ${(error as Error).message}\n`);
    return 1;
  }
}
