// The query API as a process: the Cloud Run container's entry (infra-cdktf/build/query-api.Dockerfile)
// and a stand-alone local server. The only difference between runtimes is which adapters serve the
// app of app.ts, picked by runtime/select.ts: Bigtable on gcp, the data directory's reader locally
// (without its writer lock, so it can run beside `tillstream start`). Listens on PORT; /health says
// the process is up, /ready that the series store answers; SIGTERM stops taking connections, lets requests in flight finish, then exits.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { webhookPolicyOf } from '../../pipeline/alerts/webhook-url.js';
import { openReadStores, type RuntimeName } from '../../runtime/select.js';
import { QUERY_API_HEAP_GROWING_PERCENT, setHeapGrowingPercent } from '../../runtime/heap-growth.js';
import { defaultLogger } from '../http/logging.js';
import { createQueryApiListener } from './app.js';

export interface QueryApiServer {
  runtime: RuntimeName;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  server: Server;
  /** Stops taking connections, waits for requests in flight (at most `graceMs`), then closes the stores. */
  close(): Promise<void>;
}

export interface StartQueryApiOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: PORT, else 8080. 0 picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  /** How long close() waits for requests in flight before cutting connections (Cloud Run allows 10 s). */
  graceMs?: number;
}

function portFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT?.trim() || '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PORT: must be a port number, got "${raw}"`);
  return port;
}

export async function startQueryApiServer(opts: StartQueryApiOptions = {}): Promise<QueryApiServer> {
  const env = opts.env ?? process.env;
  const port = opts.port ?? portFrom(env);
  const logger = opts.logger ?? defaultLogger();
  const stores = await openReadStores(env);
  let stopping = false;
  const app = createQueryApiListener({
    series: stores.series,
    keys: stores.keys,
    pepper: stores.pepper,
    logger,
    // The local data directory is a developer's: nothing cached in between.
    cache: stores.runtime === 'gcp',
    answerCache: stores.runtime === 'gcp',
    // Cloud Run's front end terminates TLS and forwards plain http with X-Forwarded-Proto; the container
    // receives nothing but what it forwards (https://cloud.google.com/run/docs/container-contract).
    ...(stores.runtime === 'gcp' ? { trustProxy: 1 } : {}),
    // Once stopping, the load balancer should send no more traffic here.
    ready: () => !stopping,
    webhooks: webhookPolicyOf(stores.runtime),
    ...(stores.alertsSeries ? { alertsSeries: stores.alertsSeries } : {}),
  });
  const server = createServer(app);
  try {
    server.listen(port, opts.host);
    await once(server, 'listening');
  } catch (err) {
    await stores.close();
    throw new Error(`the query API cannot listen on port ${port}`, { cause: err });
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    runtime: stores.runtime,
    url: `http://${host === '[::]' || host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    server,
    close() {
      closing ??= (async () => {
        stopping = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), opts.graceMs ?? 8_000);
        await closed;
        clearTimeout(cut);
        await stores.close();
      })();
      return closing;
    },
  };
}

/** The container's process: start, log where, stop on SIGTERM/SIGINT with exit code 0. */
async function main(): Promise<void> {
  setHeapGrowingPercent(QUERY_API_HEAP_GROWING_PERCENT);
  const logger = defaultLogger();
  let running: QueryApiServer;
  try {
    running = await startQueryApiServer({ logger });
  } catch (err) {
    logger.fatal({ err }, 'the query API cannot start');
    process.exitCode = 1;
    return;
  }
  logger.info({ runtime: running.runtime, url: running.url }, 'query API listening');
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'query API stopping');
    running.close().then(
      () => {
        logger.info('query API stopped');
        // gRPC channels of the cloud clients would keep the process alive.
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'query API did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
