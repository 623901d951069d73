// The one HTTP app of `tillstream start`: collector, query API, dashboard and the local command
// endpoint through which other `tillstream` commands reach the running process (it is the only writer
// of the data directory). The query API and collector are the same code that runs on Cloud Run/Functions.
import type { Express } from 'express';
import type { Logger } from 'pino';
import { LOCAL_WEBHOOKS } from '../pipeline/alerts/webhook-url.js';
import type { LocalPipeline } from '../runtime/local-writer.js';
import { createCollector } from './collector/router.js';
import { createSdkRouter } from './collector/sdk-route.js';
import { createLocalCommandRouter, type LocalDispatch } from './local-command.js';
import { createQueryApi } from './query-api/app.js';
import { terminalLogger } from './http/terminal-log.js';

/**
 * `dispatch` runs commands forwarded by other `tillstream` processes; without it the endpoint is
 * absent. `logger` defaults to the terminal's (tests keep the lines to print them on failure).
 */
export function createLocalApp(rt: LocalPipeline, opts: { rateLimit?: boolean; dispatch?: LocalDispatch; logger?: Logger } = {}): Express {
  const collector = createCollector({
    publisher: rt.bus,
    keys: rt.keys,
    pepper: rt.pepper,
    clock: rt.clock,
    rateLimitPerMinute: opts.rateLimit === false ? false : undefined,
    attributes: () => ({ run_id: rt.runId }),
  });
  return createQueryApi({
    series: rt.series,
    keys: rt.keys,
    pepper: rt.pepper,
    clock: rt.clock,
    rateLimit: opts.rateLimit === false ? false : undefined,
    logger: opts.logger ?? terminalLogger(),
    webhooks: LOCAL_WEBHOOKS,
    mount: [createSdkRouter(), collector, ...(opts.dispatch ? [createLocalCommandRouter({ pepper: rt.pepper, dispatch: opts.dispatch })] : [])],
  });
}
