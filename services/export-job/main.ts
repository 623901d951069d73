// The export job's task: the Cloud Run job's container entry (infra-cdktf/build/export-job.Dockerfile,
// bundled by scripts/build-export-job.mjs). An execution is started per finished mart run by
// functions/start-export.ts with the run in TILLSTREAM_EXPORT_RUN; Cloud Run starts CLOUD_RUN_TASK_COUNT
// tasks, each exporting the merchants of its range (pipeline/marts/shards.ts), and retries a task that
// exits non-zero up to the job's max retries (https://cloud.google.com/run/docs/configuring/max-retries):
// export overwrites buckets, so a retried task writes the same cells.
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { createPubSubAlertQueue } from '../../adapters/gcp/pubsub-alert-queue.js';
import { pubsubClient } from '../../adapters/gcp/pubsub-bus.js';
import { errorDetail } from '../../pipeline/errors.js';
import { martAlertHook } from '../../pipeline/alerts/evaluate.js';
import { createAlertStore } from '../../pipeline/alerts/store.js';
import { taskShardOf } from '../../pipeline/marts/shards.js';
import type { Logger } from '../../pipeline/ports.js';
import { gcpRuntimeFrom } from '../../runtime/select.js';
import { createRunExporter } from './export-run.js';
import { decodeRun, EXPORT_RUN_ENV } from './run.js';

/** JSON lines with Cloud Logging's severity field (https://cloud.google.com/run/docs/logging#special-fields). */
export const jobLogger = (): Logger =>
  pino({ messageKey: 'message', formatters: { level: (label) => ({ severity: label.toUpperCase() }) }, base: undefined });

/**
 * Runs this task's share of the run's export and logs it: "mart run exported" is the log contract of
 * the freshness alert (infra-cdktf/constructs/operations.ts). Throws what failed, for the exit code.
 */
export async function runExportTask(env: NodeJS.ProcessEnv, logger: Logger): Promise<Record<string, unknown>> {
  const run = decodeRun(env[EXPORT_RUN_ENV]);
  const shard = taskShardOf(env);
  const rt = await gcpRuntimeFrom(env);
  // The mart alert rules run after the export, where the deployment names an alerts topic.
  const alertsTopic = rt.config.pubsub.alertsTopic;
  const onFinalized = alertsTopic
    ? martAlertHook({
        warehouse: rt.warehouse,
        alerts: createAlertStore(rt.seriesStore),
        queue: createPubSubAlertQueue(pubsubClient(rt.config.projectId), alertsTopic),
        series: rt.seriesStore,
        logger,
      })
    : undefined;
  const summary = await createRunExporter({ warehouse: rt.warehouse, series: rt.seriesStore, onFinalized })(run, shard);
  logger.info({ run: run.name, ...summary }, 'mart run exported');
  return summary;
}

async function main(): Promise<void> {
  const logger = jobLogger();
  try {
    await runExportTask(process.env, logger);
    // gRPC channels of the cloud clients would keep the process alive.
    process.exit(0);
  } catch (err) {
    logger.error({ task: process.env.CLOUD_RUN_TASK_INDEX, err: errorDetail(err) }, 'export task failed; Cloud Run retries it');
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
