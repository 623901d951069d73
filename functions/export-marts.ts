// exportMarts: the Pub/Sub notification of a finished scheduled-query run (BigQuery Data Transfer
// Service, TRANSFER_RUN_FINISHED, the TransferRun as JSON data) → the exporter, which pushes the
// windows that run recorded in mart_runs to the Bigtable series. A failed or cancelled run has
// nothing new to export and is acknowledged (its failure is alerted on where it happened); an
// exporter error answers 500 so the subscription retries — export overwrites windows, so a retry is safe.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { z } from 'zod';
import type { Logger } from '../pipeline/ports.js';
import { readPushRequest } from './push.js';
import { errorDetail } from '../pipeline/errors.js';
import { ack, badRequest, retry } from './respond.js';

export interface FinishedRun {
  /** Transfer run resource name. */
  name: string;
  state: string;
  /** The run's scheduled (logical) time. */
  runTime: Date;
  endTime: Date | null;
}

export interface ExportMartsDeps {
  /** Exports the windows of the run; resolves with a summary for the logs. */
  exportRun(run: FinishedRun): Promise<Record<string, unknown>>;
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

export function createExportMartsHandler(deps: ExportMartsDeps): HttpFunction {
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
    const finished: FinishedRun = {
      name: run.name,
      state: run.state,
      runTime: new Date(run.runTime ?? run.scheduleTime ?? read.delivery.publishTime.toISOString()),
      endTime: run.endTime ? new Date(run.endTime) : null,
    };
    try {
      const summary = await deps.exportRun(finished);
      deps.logger.info({ ...base, run: run.name, ...summary }, 'mart run exported');
      return ack(res, { ...base, outcome: 'exported', run: run.name, ...summary });
    } catch (err) {
      deps.logger.warn({ ...base, run: run.name, err: errorDetail(err) }, 'export failed; will retry');
      return retry(res, 'export failed; will be retried');
    }
  };
}
