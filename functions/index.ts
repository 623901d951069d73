// Cloud Functions entry points of the gcp runtime (the deployed source's main module). Each is a thin
// wrapper: it takes the adapters of runtime/gcp.ts, built once per instance on first use,
// and hands them to a stage. A missing configuration value answers 500 with the variable's name in
// the log, so the subscription keeps the messages until the deployment is fixed.
import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import pino from 'pino';
import { readPosBatch } from '../adapters/gcp/pos-batch-reader.js';
import { gcpIngestPipeline, gcpRuntime } from '../runtime/gcp.js';
import { systemClock, type Logger } from '../pipeline/ports.js';
import { createCollectHandler } from './collect.js';
import { createStartExportHandler } from './start-export.js';
import { answerBodyErrorsAsJson } from './framework-errors.js';
import { serveUnreadBodies, withUnreadBody } from './unread-body.js';
import { createJobStarter } from '../adapters/gcp/run-jobs.js';
import { encodeRun, EXPORT_RUN_ENV } from '../services/export-job/run.js';
import { createIngestEventsHandler } from './ingest-events.js';
import { createIngestPosBatchHandler } from './ingest-pos-batch.js';
import { errorDetail } from '../pipeline/errors.js';
import { createPubSubAlertQueue } from '../adapters/gcp/pubsub-alert-queue.js';
import { pubsubClient } from '../adapters/gcp/pubsub-bus.js';
import { evaluateScheduledAlerts } from '../pipeline/alerts/evaluate.js';
import { createAlertStore } from '../pipeline/alerts/store.js';
import { createDeliverAlertHandler, createEvaluateAlertsHandler } from './alerts.js';

// Before the framework builds its server: bodies it cannot parse are answered in the contract's shape,
// and the collector is handed its requests before their bodies are read.
answerBodyErrorsAsJson();
serveUnreadBodies();

/** JSON lines on stdout with Cloud Logging's severity field. */
export const logger: Logger = pino({
  messageKey: 'message',
  formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
  base: undefined,
});

/** Builds the handler on the first request (not at import, so a deploy-time load needs no config). */
function lazyHandler(name: string, build: () => HttpFunction): HttpFunction {
  let handler: HttpFunction | undefined;
  return (req, res) => {
    try {
      handler ??= build();
    } catch (err) {
      logger.error({ function: name, err: errorDetail(err) }, 'function cannot start');
      res.status(500).json({ error: { code: 'internal', message: 'the function is not configured' } });
      return;
    }
    return handler(req, res);
  };
}

export const ingestEvents = lazyHandler('ingestEvents', () => {
  const rt = gcpRuntime();
  return createIngestEventsHandler({
    stage: gcpIngestPipeline(rt, { logger }),
    sink: rt.warehouse,
    clock: systemClock,
    maxDeliveryAttempts: rt.config.pubsub.maxDeliveryAttempts,
    logger,
    journal: rt.dedupe,
    dedupe: rt.dedupe,
    dimensions: () => rt.dimensions.get(),
  });
});

export const ingestPosBatch = lazyHandler('ingestPosBatch', () => {
  const rt = gcpRuntime();
  return createIngestPosBatchHandler({ read: (ref) => readPosBatch(rt.storage, ref), publisher: rt.posPublisher, logger });
});

/** The export job (TILLSTREAM_EXPORT_JOB, `projects/P/locations/L/jobs/J`, set by infra-cdktf/constructs/functions.ts). */
export const startExport = lazyHandler('startExport', () => {
  const job = process.env.TILLSTREAM_EXPORT_JOB;
  if (!job) throw new Error('TILLSTREAM_EXPORT_JOB is not set');
  const starter = createJobStarter({ job });
  return createStartExportHandler({ start: async (run) => ({ execution: await starter.run({ [EXPORT_RUN_ENV]: encodeRun(run) }) }), logger });
});

// Public: its key check comes before the body is read (unread-body.ts).
export const collect = withUnreadBody(lazyHandler('collect', () => {
  const rt = gcpRuntime();
  return createCollectHandler({
    publisher: rt.eventsPublisher,
    keys: rt.cachedKeys,
    pepper: rt.pepper(),
    batchLimits: rt.config.batch,
    logger,
  });
}));

/** The alerts topic (TILLSTREAM_ALERTS_TOPIC, set by infra-cdktf/constructs/functions.ts). */
function alertQueue(rt: ReturnType<typeof gcpRuntime>) {
  const topic = rt.config.pubsub.alertsTopic;
  if (!topic) throw new Error('TILLSTREAM_ALERTS_TOPIC is not set');
  return createPubSubAlertQueue(pubsubClient(rt.config.projectId), topic);
}

export const deliverAlert = lazyHandler('deliverAlert', () => {
  const rt = gcpRuntime();
  return createDeliverAlertHandler({ alerts: createAlertStore(rt.seriesStore), queue: alertQueue(rt), clock: systemClock, logger });
});

export const evaluateAlerts = lazyHandler('evaluateAlerts', () => {
  const rt = gcpRuntime();
  const deps = { warehouse: rt.warehouse, alerts: createAlertStore(rt.seriesStore), queue: alertQueue(rt), logger };
  return createEvaluateAlertsHandler({ evaluate: (asOf) => evaluateScheduledAlerts(deps, asOf), clock: systemClock, logger });
});

functions.http('ingestEvents', ingestEvents);
functions.http('ingestPosBatch', ingestPosBatch);
functions.http('startExport', startExport);
functions.http('collect', collect);
functions.http('deliverAlert', deliverAlert);
functions.http('evaluateAlerts', evaluateAlerts);
