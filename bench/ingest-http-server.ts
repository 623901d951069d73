// The server side of the ingest_http figure, in its own process so that the client and the server do
// not share one event loop: the local pipeline of a fresh data directory, served by the app of
// `tillstream start` (collector, query API; rate limits off, request logs written by the service's
// logger to a discarding destination so their cost counts) while its runner consumes the bus. The
// bench's clock is fixed at the workload's anchor, so the age rules give the workload's outcomes. Makes one ingest key per
// merchant and prints one JSON line, {"port", "keys": {merchant: key}}, once it listens. Each line
// `status` read on stdin is answered with one JSON line: the run's counts and the unacked messages.
// Usage: tsx bench/ingest-http-server.ts <data dir> <dimensions.json>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createKey } from '../pipeline/auth/keys.js';
import type { DimensionsFile } from '../pipeline/contracts/dimensions.js';
import { openLocalPipeline } from '../runtime/local-writer.js';
import { defaultLogger } from '../services/http/logging.js';
import { createLocalApp } from '../services/local-app.js';
import { ANCHOR } from './workload.js';

const [dataDir, dimensionsPath] = process.argv.slice(2);
if (!dataDir || !dimensionsPath) throw new Error('usage: ingest-http-server.ts <data dir> <dimensions.json>');
const clock = { now: () => ANCHOR };
const rt = await openLocalPipeline({ dataDir, command: 'bench', clock });
const dims = JSON.parse(readFileSync(dimensionsPath, 'utf8')) as DimensionsFile;
await rt.dimensions.load(dims);
const keys: Record<string, string> = {};
for (const m of dims.merchants) {
  const { key, record } = createKey(rt.pepper, { kind: 'ingest', merchantId: m.id, now: ANCHOR });
  await rt.keys.put(record);
  keys[m.id] = key;
}
// The service's own logger, as `tillstream start` logs to a pipe (request lines in batches), discarded.
const logger = defaultLogger({ dest: '/dev/null', level: 'info' });
const server = createServer(createLocalApp(rt, { rateLimit: false, logger }));
server.keepAliveTimeout = 60_000;
const stop = new AbortController();
const consuming = rt.runner.run(stop.signal);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, keys }) + '\n');
});
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'status') continue;
  const counts = await rt.runCounts(rt.runId);
  process.stdout.write(JSON.stringify({ counts, pending: rt.bus.pendingCount() }) + '\n');
}
// stdin closed: the client is done.
await new Promise<void>((resolve) => server.close(() => resolve()));
stop.abort();
await consuming;
await rt.close();
