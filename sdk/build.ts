// Builds the browser SDK with esbuild: an ES module (`tillstream.mjs`) and a script-tag build
// (`tillstream.min.js`, an IIFE that sets the global `Tillstream`), both minified, into sdk/dist.
// `tsx sdk/build.ts` builds and prints the sizes; servers and tests call ensureSdkBuilt(), which builds
// only when dist is missing or older than the sources. esbuild is imported lazily: a process that finds
// the bundle already built never loads it.
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { BuildOptions } from 'esbuild';

export const SDK_SRC = fileURLToPath(new URL('./src/', import.meta.url));
export const SDK_DIST = fileURLToPath(new URL('./dist/', import.meta.url));
export const SDK_FILES = { iife: 'tillstream.min.js', esm: 'tillstream.mjs' } as const;
/** The size budget of each bundle, gzipped (issue: at most 5 kB). */
export const SDK_GZIP_BUDGET_BYTES = 5 * 1024;

export type SdkFormat = keyof typeof SDK_FILES;

export interface SdkBuild {
  outdir: string;
  files: Record<SdkFormat, string>;
  bytes: Record<SdkFormat, number>;
  gzipBytes: Record<SdkFormat, number>;
  /** Source files that went into the bundles (esbuild's metafile), relative to the working directory. */
  inputs: string[];
}

// Browsers since 2020 (optional chaining, ??); nothing the SDK uses needs transforming for them.
const TARGET = ['es2020'];

export async function buildSdk(opts: { outdir?: string } = {}): Promise<SdkBuild> {
  const outdir = opts.outdir ?? SDK_DIST;
  await mkdir(outdir, { recursive: true });
  const { build } = await import('esbuild');
  const common: BuildOptions = {
    entryPoints: [join(SDK_SRC, 'index.ts')],
    bundle: true,
    minify: true,
    target: TARGET,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  };
  const [iife, esm] = await Promise.all([
    build({ ...common, format: 'iife', globalName: 'Tillstream', outfile: join(outdir, SDK_FILES.iife) }),
    build({ ...common, format: 'esm', outfile: join(outdir, SDK_FILES.esm) }),
  ]);
  const files = { iife: join(outdir, SDK_FILES.iife), esm: join(outdir, SDK_FILES.esm) };
  const sizes = async (f: SdkFormat) => {
    const content = await readFile(files[f]);
    return [content.length, gzipSync(content, { level: 9 }).length] as const;
  };
  const [iifeSize, esmSize] = await Promise.all([sizes('iife'), sizes('esm')]);
  const inputs = [...new Set([...Object.keys(iife.metafile!.inputs), ...Object.keys(esm.metafile!.inputs)])].sort();
  return {
    outdir,
    files,
    bytes: { iife: iifeSize[0], esm: esmSize[0] },
    gzipBytes: { iife: iifeSize[1], esm: esmSize[1] },
    inputs,
  };
}

async function newestSourceMtime(): Promise<number> {
  const names = await readdir(SDK_SRC);
  const times = await Promise.all(names.map(async (n) => (await stat(join(SDK_SRC, n))).mtimeMs));
  return Math.max(0, ...times);
}

let pending: Promise<void> | undefined;

/** Builds sdk/dist when a bundle is missing or older than a source file; concurrent callers share one build. */
export function ensureSdkBuilt(): Promise<void> {
  pending ??= (async () => {
    const built = await Promise.all(Object.values(SDK_FILES).map((f) => stat(join(SDK_DIST, f)).then((s) => s.mtimeMs, () => 0)));
    if (Math.min(...built) < (await newestSourceMtime())) await buildSdk();
  })().finally(() => {
    pending = undefined;
  });
  return pending;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await buildSdk();
  for (const f of Object.keys(SDK_FILES) as SdkFormat[]) {
    console.log(`${result.files[f]}: ${result.bytes[f]} bytes, ${result.gzipBytes[f]} gzipped (budget ${SDK_GZIP_BUDGET_BYTES})`);
  }
}
