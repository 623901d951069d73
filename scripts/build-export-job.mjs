// Bundles the export job's task (services/export-job/main.ts) with esbuild (scripts/bundle.mjs) into
// dist/export-job/: `node dist/export-job/main.mjs` runs it with no TypeScript compiler and no node_modules,
// for the Cloud Run job image (infra-cdktf/build/export-job.Dockerfile).
// Usage: node scripts/build-export-job.mjs [--out DIR]   (prints one JSON line: {"out", "bytes", "files"})
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle, root, sizeOf } from './bundle.mjs';

const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'export-job') } }, strict: true });
const out = resolve(values.out);
// The mart alert rules it evaluates after an export are files of sql/alerts/.
await bundle({ entry: 'services/export-job/main.ts', name: 'main', out, sql: true });
process.stdout.write(JSON.stringify({ out, ...(await sizeOf(out)) }) + '\n');
