// Bundles the query API (services/query-api/server.ts) with esbuild into dist/query-api/: plain JavaScript
// modules that `node dist/query-api/server.mjs` runs with no TypeScript compiler and no node_modules, for the
// Cloud Run image (infra-cdktf/build/query-api.Dockerfile). The dashboard's files and uPlot are copied beside
// it. ESM with code splitting, so the local runtime's modules (and their native packages, left external: the
// image serves the gcp runtime only) sit in chunks that load only when TILLSTREAM_RUNTIME=local asks for them.
// Usage: node scripts/build-query-api.mjs [--out DIR]   (prints one JSON line: {"out", "bytes", "files"})
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'query-api') } }, strict: true });
const out = resolve(values.out);

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

await rm(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { server: 'services/query-api/server.ts' },
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  splitting: true,
  outdir: out,
  outExtension: { '.js': '.mjs' },
  // One directory: app.ts finds dashboard/ and uplot/ beside whichever file holds it.
  chunkNames: '[name]-[hash]',
  // Native packages of the local runtime: never loaded on gcp, and not portable into a bundle.
  external: ['lmdb', '@duckdb/node-api'],
  banner: { js: banner },
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
await writeFile(join(out, 'meta.json'), JSON.stringify(result.metafile));

// Static files app.ts serves, found beside the bundle (see its DASHBOARD_DIR and UPLOT_DIR).
await cp(join(root, 'services', 'query-api', 'dashboard'), join(out, 'dashboard'), { recursive: true });
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));
await mkdir(join(out, 'uplot'), { recursive: true });
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) await cp(join(uplotDist, f), join(out, 'uplot', f));
// @google-cloud/bigtable finds its protos at run time through require.resolve('@google-cloud/bigtable-api')
// and reads them from that package's build/protos with fs (admin/table.js, client-side-metrics): the
// package's code is bundled, but that path must exist beside the bundle.
const req = createRequire(join(root, 'package.json'));
const bigtableApi = join(dirname(req.resolve('@google-cloud/bigtable/package.json')), '..', 'bigtable-api');
const bigtableApiOut = join(out, 'node_modules', '@google-cloud', 'bigtable-api');
await cp(join(bigtableApi, 'package.json'), join(bigtableApiOut, 'package.json'));
await cp(join(bigtableApi, 'build', 'protos'), join(bigtableApiOut, 'build', 'protos'), { recursive: true, filter: (src) => !/\.(js|ts)$/.test(src) });
await mkdir(join(bigtableApiOut, 'build', 'src'), { recursive: true });
await writeFile(join(bigtableApiOut, 'build', 'src', 'index.js'), "throw new Error('@google-cloud/bigtable-api is bundled into the query API; this file only anchors the path of its protos');\n");
// A package.json without "type" would make node guess the module kind of .mjs files anyway; it only pins it.
await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');

let bytes = 0;
let files = 0;
for (const entry of await readdir(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name === 'meta.json') continue;
  bytes += (await stat(join(entry.parentPath, entry.name))).size;
  files++;
}
process.stdout.write(JSON.stringify({ out, bytes, files }) + '\n');
