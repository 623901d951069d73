// The import graph's two rules: nothing below the command line imports it (services/, functions/,
// bench/, adapters/, runtime/ and pipeline/ never import cli/: the CLI is an entry point, like a
// function), and no module imports itself through others (no circle). test/scripts/import-graph.test.ts
// runs this on the tree; `npx tsx scripts/import-graph.ts` prints the violations.
//
// The graph comes from esbuild (a pinned devDependency that already bundles the functions), which
// resolves NodeNext `./x.js` specifiers to `./x.ts` as tsc does. madge and dependency-cruiser read
// TypeScript through the `typescript` package's JavaScript API, which TypeScript 7 (the compiler here,
// a native binary) no longer ships. esbuild drops `import type` statements, so those are read from
// the source text and added as edges: a type-only import is a dependency too.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SOURCE_DIRS = ['pipeline', 'runtime', 'adapters', 'functions', 'services', 'cli', 'bench', 'demo', 'looker', 'sdk', 'scripts', 'infra-cdktf'];
/** Folders that must not import cli/. */
export const BELOW_CLI = ['pipeline', 'runtime', 'adapters', 'functions', 'services', 'bench'];

export interface ImportGraphReport {
  /** Module count of the graph. */
  modules: number;
  /** `from -> to` for each import of cli/ from a folder below it. */
  cliImports: string[];
  /** Each circle as its modules in order, the first repeated at the end. */
  circles: string[][];
}

function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'cdktf.out' && e.name !== 'dist') walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}

/** `import type … from '…'` and `export type … from '…'`: edges esbuild does not see. */
const TYPE_IMPORT = /^\s*(?:import|export)\s+type\s[^;]*?\sfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

async function edges(root: string, files: readonly string[]): Promise<Map<string, Set<string>>> {
  const result = await build({
    entryPoints: [...files],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    outdir: join(root, '.import-graph'),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    // Keeps `import { type A, b }` and imports used only as types, as tsc's emit would with this flag.
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
  });
  const graph = new Map<string, Set<string>>();
  const add = (from: string, to: string) => {
    let s = graph.get(from);
    if (!s) graph.set(from, (s = new Set()));
    if (to) s.add(to);
  };
  for (const [input, info] of Object.entries(result.metafile.inputs)) {
    if (input.startsWith('node_modules/') || !input.endsWith('.ts')) continue;
    add(input, '');
    for (const i of info.imports) if (!i.external && i.path.endsWith('.ts') && !i.path.startsWith('node_modules/')) add(input, i.path);
  }
  for (const file of files) {
    const from = relative(root, file).split(sep).join('/');
    for (const m of readFileSync(file, 'utf8').matchAll(TYPE_IMPORT)) {
      const to = relative(root, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))).split(sep).join('/');
      add(from, to);
    }
  }
  return graph;
}

/** Strongly connected components (Tarjan); each of more than one module, or a module importing itself, is a circle. */
function circles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.reverse());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  // One path through each component, for the message.
  return found.map((scc) => {
    const members = new Set(scc);
    const path = [scc[0]!];
    const seen = new Set(path);
    let at = scc[0]!;
    for (;;) {
      const step = [...(graph.get(at) ?? [])].find((w) => members.has(w) && (w === scc[0] || !seen.has(w)));
      if (!step) break;
      path.push(step);
      if (step === scc[0]) break;
      seen.add(step);
      at = step;
    }
    return path;
  });
}

export async function checkImportGraph(root: string, dirs: readonly string[] = SOURCE_DIRS): Promise<ImportGraphReport> {
  const graph = await edges(root, sourceFiles(root, dirs));
  const cliImports: string[] = [];
  for (const [from, tos] of graph) {
    if (!BELOW_CLI.some((d) => from.startsWith(`${d}/`))) continue;
    for (const to of tos) if (to.startsWith('cli/')) cliImports.push(`${from} -> ${to}`);
  }
  return { modules: graph.size, cliImports: cliImports.sort(), circles: circles(graph) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = await checkImportGraph(fileURLToPath(new URL('..', import.meta.url)));
  for (const i of report.cliImports) console.log(`imports cli/: ${i}`);
  for (const c of report.circles) console.log(`circle: ${c.join(' -> ')}`);
  console.log(`${report.modules} modules, ${report.cliImports.length} imports of cli/ from below it, ${report.circles.length} circles`);
  process.exitCode = report.cliImports.length || report.circles.length ? 1 : 0;
}
