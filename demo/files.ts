// Writes a generated workload to disk: NDJSON events streamed to the output file, the dimensions file
// beside it (`<out without extension>.dimensions.json`) and a manifest of expected end states and POS
// batches (`<out without extension>.manifest.json`). Each file appears complete or not at all.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { generateInto, type GenerateOptions, type PosBatch, type WorkloadManifest } from './generator.js';

export interface WorkloadPaths {
  events: string;
  dimensions: string;
  manifest: string;
}

/** `demo.ndjson` → `demo.dimensions.json` and `demo.manifest.json`, in the same folder. */
export function workloadPaths(out: string): WorkloadPaths {
  const ext = extname(out);
  const stem = join(dirname(out), ext ? basename(out, ext) : basename(out));
  return { events: out, dimensions: `${stem}.dimensions.json`, manifest: `${stem}.manifest.json` };
}

/** The manifest file: counts plus the POS batches (line ranges of the events file). */
export interface ManifestFile extends WorkloadManifest {
  files: { events: string; dimensions: string };
  pos_batches: PosBatch[];
}

const FLUSH_BYTES = 1 << 20;

export function writeWorkloadFiles(out: string, opts: GenerateOptions): { paths: WorkloadPaths; manifest: ManifestFile } {
  const paths = workloadPaths(out);
  const tmp = (p: string): string => `${p}.tmp-${process.pid}`;
  let fd: number | undefined;
  const posBatches: PosBatch[] = [];
  let chunk: string[] = [];
  let chunkBytes = 0;
  const flush = (): void => {
    if (chunk.length === 0) return;
    writeSync(fd!, chunk.join(''));
    chunk = [];
    chunkBytes = 0;
  };
  try {
    mkdirSync(dirname(out), { recursive: true });
    fd = openSync(tmp(paths.events), 'w');
    const { manifest, dimensions } = generateInto(opts, {
      entry(line) {
        chunk.push(line, '\n');
        chunkBytes += line.length + 1;
        if (chunkBytes >= FLUSH_BYTES) flush();
      },
      posBatch(batch) {
        posBatches.push(batch);
      },
    });
    flush();
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    const file: ManifestFile = { ...manifest, files: { events: basename(paths.events), dimensions: basename(paths.dimensions) }, pos_batches: posBatches };
    writeFileSync(tmp(paths.dimensions), `${JSON.stringify(dimensions, null, 2)}\n`);
    writeFileSync(tmp(paths.manifest), `${JSON.stringify(file)}\n`);
    renameSync(tmp(paths.events), paths.events);
    renameSync(tmp(paths.dimensions), paths.dimensions);
    renameSync(tmp(paths.manifest), paths.manifest);
    return { paths, manifest: file };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    for (const p of Object.values(paths)) {
      try {
        rmSync(tmp(p), { force: true });
      } catch {
        // nothing was written there
      }
    }
    throw new Error(`writing the workload to ${out} failed: ${(error as Error).message}`, { cause: error });
  }
}
