// startExport: the Pub/Sub notification of a finished scheduled-query run (BigQuery Data Transfer
// Service, TRANSFER_RUN_FINISHED, the TransferRun as JSON data) → one execution of the export job
// (a Cloud Run job, services/export-job/), whose tasks export the windows that run recorded in
// mart_runs, each for its range of merchants. The export runs where a long, parallel job belongs;
// this function only starts it, so it needs no data access at all. A failed or cancelled run has
// nothing new to export and is acknowledged (its failure is alerted on where it happened); a failed
// start answers 500 so the subscription retries. A redelivered notification starts a second
// execution of the same run: export overwrites buckets, so it writes the same cells.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { z } from 'zod';
import type { Logger } from '../pipeline/ports.js';
import { readPushRequest } from './push.js';
import { errorDetail } from '../pipeline/errors.js';
import { ack, badRequest, retry } from './respond.js';
import type { FinishedRun } from '../services/export-job/run.js';

export type { FinishedRun } from '../services/export-job/run.js';

export interface StartExportDeps {
  /** Starts the export of the run; resolves with what to log (the execution). */
  start(run: FinishedRun): Promise<Record<string, unknown>>;
  logger: Logger;
}

const TransferRun = z.object({
  name: z.string().min(1),
  state: z.string(),
  runTime: z.iso.datetime({ offset: true }).optional(),
  scheduleTime: z.iso.datetime({ offset: true }).optional(),
  endTime: z.iso.datetime({ offset: true }).optional(),
  errorStatus: z.object({ message: z.string().optional() }).passthrough().optional(),
});

export function createStartExportHandler(deps: StartExportDeps): HttpFunction {
  return async (req, res) => {
    const read = readPushRequest(req);
    if (!read.ok) return badRequest(res, read.error);
    const base = { message_id: read.delivery.id };
    let run: z.infer<typeof TransferRun>;
    try {
      run = TransferRun.parse(JSON.parse(read.delivery.data.toString('utf8')));
    } catch (err) {
      deps.logger.error({ ...base, err: errorDetail(err) }, 'run notification without a transfer run; acknowledged');
      return ack(res, { ...base, outcome: 'unreadable_notification' });
    }
    if (run.state !== 'SUCCEEDED') {
      deps.logger.warn({ ...base, run: run.name, state: run.state, error: run.errorStatus?.message }, 'mart run did not succeed; nothing to export');
      return ack(res, { ...base, outcome: 'skipped', run: run.name, state: run.state });
    }
    const publishTime = read.delivery.publishTime.toISOString();
    const finished: FinishedRun = {
      name: run.name,
      state: run.state,
      runTime: new Date(run.runTime ?? run.scheduleTime ?? publishTime),
      // Fixed here, so every task of the execution reads the run's record up to the same instant.
      endTime: new Date(run.endTime ?? publishTime),
    };
    try {
      const started = await deps.start(finished);
      deps.logger.info({ ...base, run: run.name, ...started }, 'mart run export started');
      return ack(res, { ...base, outcome: 'export_started', run: run.name, ...started });
    } catch (err) {
      deps.logger.warn({ ...base, run: run.name, err: errorDetail(err) }, 'starting the export failed; will retry');
      return retry(res, 'starting the export failed; will be retried');
    }
  };
}
