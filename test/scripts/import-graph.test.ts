import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkImportGraph } from '../../scripts/import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('import graph (scripts/import-graph.ts)', function () {
  // esbuild reads the whole tree once; on a loaded machine that can take a few seconds.
  this.timeout(60_000);

  it('the tree has no import of cli/ from below it and no circle', async () => {
    const report = await checkImportGraph(ROOT);
    assert.ok(report.modules > 100, `only ${report.modules} modules read: the walk missed the tree`);
    assert.deepEqual({ cliImports: report.cliImports, circles: report.circles }, { cliImports: [], circles: [] });
  });

  describe('on a small tree', () => {
    let dir: string;
    const file = async (path: string, text: string) => {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    };
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'import-graph-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('names a circle of NodeNext .js specifiers that resolve to .ts files', async () => {
      await file('cli/commands/index.ts', "import { start } from './start.js';\nexport const COMMANDS = { start };\n");
      await file('cli/commands/start.ts', "import { app } from '../../services/app.js';\nexport const start = () => app();\n");
      await file('services/app.ts', "import { forward } from '../cli/forward.js';\nexport const app = () => forward;\n");
      await file('cli/forward.ts', "import { COMMANDS } from './commands/index.js';\nexport const forward = () => COMMANDS;\n");
      const report = await checkImportGraph(dir, ['cli', 'services']);
      assert.deepEqual(report.cliImports, ['services/app.ts -> cli/forward.ts']);
      assert.deepEqual(report.circles, [['cli/commands/index.ts', 'cli/commands/start.ts', 'services/app.ts', 'cli/forward.ts', 'cli/commands/index.ts']]);
    });

    it('counts type-only imports, which esbuild drops, as imports', async () => {
      await file('bench/run.ts', "import type { LocalPipeline } from '../cli/local-pipeline.js';\nexport interface Thing { pipeline?: LocalPipeline }\n");
      await file('cli/local-pipeline.ts', "import { type Thing } from '../bench/run.js';\nexport interface LocalPipeline { thing?: Thing }\n");
      const report = await checkImportGraph(dir, ['cli', 'bench']);
      assert.deepEqual(report.cliImports, ['bench/run.ts -> cli/local-pipeline.ts']);
      assert.deepEqual(report.circles, [['bench/run.ts', 'cli/local-pipeline.ts', 'bench/run.ts']]);
    });

    it('lets cli/ import everything below it, and dynamic imports count', async () => {
      await file('cli/main.ts', "import { run } from '../runtime/local.js';\nexport const main = () => run();\n");
      await file('runtime/local.ts', "export const run = async () => (await import('../adapters/store.js')).open();\n");
      await file('adapters/store.ts', "export const open = async () => (await import('../cli/main.js')).main;\n");
      const report = await checkImportGraph(dir, ['cli', 'runtime', 'adapters']);
      assert.deepEqual(report.cliImports, ['adapters/store.ts -> cli/main.ts']);
      assert.deepEqual(report.circles, [['adapters/store.ts', 'cli/main.ts', 'runtime/local.ts', 'adapters/store.ts']]);
    });
  });
});
