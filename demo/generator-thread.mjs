// Entry of the demo generator's worker thread (demo/generator-thread.ts). Node 20 resolves a worker's
// entry before any loader hook runs in the worker, so this is JavaScript: it registers tsx in the
// worker, as cli/bin.mjs does for the command, and then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
const { serveSteps } = await import('./generator-thread.ts');
serveSteps();
