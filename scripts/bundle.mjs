// One Node.js entry bundled by esbuild into a directory that `node <name>.mjs` runs with no TypeScript
// compiler and no node_modules: the container images of the query API (build-query-api.mjs) and of
// the export job (build-export-job.mjs). ESM with code splitting, so the local runtime's modules (and
// their native packages, left external: the images serve the gcp runtime only) sit in chunks that load
// only when TILLSTREAM_RUNTIME=local asks for them.
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Bundled CommonJS packages (gRPC, protobufjs, the Google clients) use require, __dirname and __filename;
// an ES module has none of them, so every output file defines them first.
const banner = [
  "import { createRequire as __tsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __tsFileURLToPath } from 'node:url';",
  "import { dirname as __tsDirname } from 'node:path';",
  'const require = __tsCreateRequire(import.meta.url);',
  'const __filename = __tsFileURLToPath(import.meta.url);',
  'const __dirname = __tsDirname(__filename);',
].join(' ');

/** Bundles `entry` (relative to the repository) as `<out>/<name>.mjs`, with sql/ beside it when the code reads SQL files (pipeline/marts/manifest.ts readSql). */
export async function bundle({ entry, name, out, sql = false }) {
  await rm(out, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [name]: entry },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    outdir: out,
    outExtension: { '.js': '.mjs' },
    // One directory: files the code finds beside itself sit beside whichever chunk holds it.
    chunkNames: '[name]-[hash]',
    // Native packages of the local runtime: never loaded on gcp, and not portable into a bundle.
    external: ['lmdb', '@duckdb/node-api', '@duckdb/node-bindings'],
    banner: { js: banner },
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(join(out, 'meta.json'), JSON.stringify(result.metafile));
  // @google-cloud/bigtable finds its protos at run time through require.resolve('@google-cloud/bigtable-api')
  // and reads them from that package's build/protos with fs (admin/table.js, client-side-metrics): the
  // package's code is bundled, but that path must exist beside the bundle.
  const req = createRequire(join(root, 'package.json'));
  const bigtableApi = join(dirname(req.resolve('@google-cloud/bigtable/package.json')), '..', 'bigtable-api');
  const bigtableApiOut = join(out, 'node_modules', '@google-cloud', 'bigtable-api');
  await cp(join(bigtableApi, 'package.json'), join(bigtableApiOut, 'package.json'));
  await cp(join(bigtableApi, 'build', 'protos'), join(bigtableApiOut, 'build', 'protos'), { recursive: true, filter: (src) => !/\.(js|ts)$/.test(src) });
  await mkdir(join(bigtableApiOut, 'build', 'src'), { recursive: true });
  await writeFile(join(bigtableApiOut, 'build', 'src', 'index.js'), `throw new Error('@google-cloud/bigtable-api is bundled into ${name}.mjs; this file only anchors the path of its protos');\n`);
  if (sql) await cp(join(root, 'sql'), join(out, 'sql'), { recursive: true });
  // A package.json without "type" would make node guess the module kind of .mjs files anyway; it only pins it.
  await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');
}

/** Bytes and files under `out`, the metafile aside. */
export async function sizeOf(out) {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(out, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name === 'meta.json') continue;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
    files++;
  }
  return { bytes, files };
}
