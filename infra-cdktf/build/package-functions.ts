// Packages the Cloud Functions source: one ESM bundle of functions/index.ts (every entry point) plus
// a package.json naming the functions framework, zipped for the artifacts bucket. Bundling keeps the
// upload small and the deployed code exactly what was tested; native local-runtime modules stay out.
// Usage: tsx infra-cdktf/build/package-functions.ts [--entry functions/index.ts] [--out dist/functions.zip]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { entry: { type: 'string', default: 'functions/index.ts' }, out: { type: 'string', default: 'dist/functions.zip' } } });
const entry = resolve(values.entry!);
const out = resolve(values.out!);
const staging = join(dirname(out), basename(out, '.zip'));

const rootPackage = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
const framework = '@google-cloud/functions-framework';

rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
await build({
  entryPoints: [entry],
  outfile: join(staging, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // The framework is installed by the runtime's build; native modules belong to the local runtime only.
  external: [framework, 'lmdb', '@duckdb/*', 'playwright-core'],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
writeFileSync(
  join(staging, 'package.json'),
  JSON.stringify({ name: 'tillstream-functions', private: true, type: 'module', main: 'index.js', engines: { node: '>=20' }, dependencies: { [framework]: rootPackage.dependencies[framework] } }, null, 2),
);
rmSync(out, { force: true });
// Python's zipfile ships with every image that has node-gyp's python3; no zip tool needed.
execFileSync('python3', ['-m', 'zipfile', '-c', out, 'index.js', 'index.js.map', 'package.json'], { cwd: staging, stdio: 'inherit' });
console.log(`functions package: ${out}`);
