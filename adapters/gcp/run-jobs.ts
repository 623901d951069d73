// Starts executions of a Cloud Run job through the Cloud Run Admin API (v2 jobs.run), with overrides:
// the environment variables of this execution's container. Overrides need run.jobs.runWithOverrides
// on the job (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run), which
// roles/run.jobsExecutorWithOverrides holds and nothing wider need grant
// (https://cloud.google.com/iam/docs/roles-permissions/run). One REST call through the auth library
// the Google clients already use: no Run client library (and its protos) for one method.
import { GoogleAuth } from 'google-auth-library';

export interface JobStarter {
  /** Starts one execution with these container variables; resolves with the execution's long-running operation name. */
  run(env: Record<string, string>): Promise<string>;
}

/** `projects/P/locations/L/jobs/J` */
const JOB_NAME = /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+$/;

export function createJobStarter(opts: { job: string; auth?: GoogleAuth }): JobStarter {
  if (!JOB_NAME.test(opts.job)) throw new Error(`Cloud Run job "${opts.job}" is not projects/PROJECT/locations/REGION/jobs/JOB`);
  let auth = opts.auth;
  return {
    async run(env) {
      auth ??= new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
      const overrides = { containerOverrides: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] };
      try {
        const res = await auth.request<{ name?: string }>({ url: `https://run.googleapis.com/v2/${opts.job}:run`, method: 'POST', data: { overrides } });
        return res.data.name ?? '';
      } catch (err) {
        throw new Error(`starting an execution of ${opts.job} failed`, { cause: err });
      }
    },
  };
}
