// Packages the Cloud Functions source: one ESM bundle of our own code (functions/index.ts and every
// module it reaches) plus a package.json naming, at the repository's exact versions, the npm packages
// the bundle imports, zipped for the artifacts bucket; the runtime's build installs those. Packages
// stay out of the bundle because the cloud clients read files beside their code (gRPC protos, worker
// scripts) through __dirname, which a bundle neither has nor ships; native local-runtime modules are
// never reached from the functions, and the build fails if one is.
// Usage: tsx infra-cdktf/build/package-functions.ts [--entry functions/index.ts] [--out dist/functions.zip]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { entry: { type: 'string', default: 'functions/index.ts' }, out: { type: 'string', default: 'dist/functions.zip' } } });
const entry = resolve(values.entry!);
const out = resolve(values.out!);
const staging = join(dirname(out), basename(out, '.zip'));

const rootPackage = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
const framework = '@google-cloud/functions-framework';
const LOCAL_ONLY = ['lmdb', '@duckdb/node-api', 'playwright-core'];

rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const result = await build({
  entryPoints: [entry],
  outfile: join(staging, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  // Every npm package stays an import; the runtime's build installs them from package.json.
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
});
/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const imported = new Set<string>([framework]);
for (const output of Object.values(result.metafile!.outputs)) {
  for (const i of output.imports) {
    if (i.external && !i.path.startsWith('node:') && !isBuiltin(i.path)) imported.add(packageOf(i.path));
  }
}
const dependencies: Record<string, string> = {};
for (const name of [...imported].sort()) {
  if (LOCAL_ONLY.includes(name)) throw new Error(`the functions import ${name}, a local-runtime package: keep adapters/local out of their graph`);
  const version = rootPackage.dependencies[name];
  if (!version) throw new Error(`the functions import ${name}, which package.json does not list under dependencies`);
  dependencies[name] = version;
}
writeFileSync(
  join(staging, 'package.json'),
  JSON.stringify({ name: 'tillstream-functions', private: true, type: 'module', main: 'index.js', engines: { node: '>=22' }, dependencies }, null, 2) + '\n',
);
rmSync(out, { force: true });
// Python's zipfile ships with every image that has node-gyp's python3; no zip tool needed.
execFileSync('python3', ['-m', 'zipfile', '-c', out, 'index.js', 'index.js.map', 'package.json'], { cwd: staging, stdio: 'inherit' });
console.log(`functions package: ${out}`);
