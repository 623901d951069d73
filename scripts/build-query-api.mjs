// Bundles the query API (services/query-api/server.ts) with esbuild (scripts/bundle.mjs) into dist/query-api/:
// plain JavaScript modules that `node dist/query-api/server.mjs` runs with no TypeScript compiler and no
// node_modules, for the Cloud Run image (infra-cdktf/build/query-api.Dockerfile). The dashboard's files and
// uPlot are copied beside it.
// Usage: node scripts/build-query-api.mjs [--out DIR]   (prints one JSON line: {"out", "bytes", "files"})
import { cp, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle, root, sizeOf } from './bundle.mjs';

const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'query-api') } }, strict: true });
const out = resolve(values.out);

await bundle({ entry: 'services/query-api/server.ts', name: 'server', out });
// Static files app.ts serves, found beside the bundle (see its DASHBOARD_DIR and UPLOT_DIR).
await cp(join(root, 'services', 'query-api', 'dashboard'), join(out, 'dashboard'), { recursive: true });
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));
await mkdir(join(out, 'uplot'), { recursive: true });
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) await cp(join(uplotDist, f), join(out, 'uplot', f));

process.stdout.write(JSON.stringify({ out, ...(await sizeOf(out)) }) + '\n');
