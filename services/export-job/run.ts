// The mart run an export job execution exports: the finished scheduled-query run named by its
// notification, carried from the function that starts the job (functions/start-export.ts) to every
// task in one environment variable of the execution's overrides (Cloud Run Admin API jobs.run,
// https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run).
import { z } from 'zod';

/** A finished BigQuery Data Transfer run of the hourly marts. */
export interface FinishedRun {
  /** Transfer run resource name. */
  name: string;
  state: string;
  /** The run's scheduled (logical) time. */
  runTime: Date;
  /** When it ended: every task reads the run's record up to the same instant. */
  endTime: Date | null;
}

/** The environment variable of the execution's container override. */
export const EXPORT_RUN_ENV = 'TILLSTREAM_EXPORT_RUN';

const Encoded = z.strictObject({
  name: z.string().min(1),
  state: z.string().min(1),
  runTime: z.iso.datetime({ offset: true }),
  endTime: z.iso.datetime({ offset: true }).nullable(),
});

export function encodeRun(run: FinishedRun): string {
  return JSON.stringify({ name: run.name, state: run.state, runTime: run.runTime.toISOString(), endTime: run.endTime?.toISOString() ?? null });
}

/** Parses the variable; the error names it, so a task started without a run fails saying why. */
export function decodeRun(text: string | undefined): FinishedRun {
  if (!text) throw new Error(`${EXPORT_RUN_ENV} is not set: the export job runs only as started by the mart run notification (functions/start-export.ts)`);
  let parsed: z.infer<typeof Encoded>;
  try {
    parsed = Encoded.parse(JSON.parse(text));
  } catch (err) {
    throw new Error(`${EXPORT_RUN_ENV} is not a finished run: ${text.slice(0, 200)}`, { cause: err });
  }
  return { name: parsed.name, state: parsed.state, runTime: new Date(parsed.runTime), endTime: parsed.endTime ? new Date(parsed.endTime) : null };
}
