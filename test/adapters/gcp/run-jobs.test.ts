import assert from 'node:assert/strict';
import { GoogleAuth } from 'google-auth-library';
import sinon from 'sinon';
import { createJobStarter } from '../../../adapters/gcp/run-jobs.js';

describe('Cloud Run job starter', () => {
  afterEach(() => sinon.restore());

  it('starts one execution with the variables as the container override (Admin API v2 jobs.run)', async () => {
    const auth = new GoogleAuth();
    const request = sinon.stub(auth, 'request').resolves({ data: { name: 'projects/p/locations/europe-west1/operations/op-1' } } as never);
    const starter = createJobStarter({ job: 'projects/p/locations/europe-west1/jobs/tillstream-export-marts', auth });
    assert.equal(await starter.run({ TILLSTREAM_EXPORT_RUN: '{"name":"r"}' }), 'projects/p/locations/europe-west1/operations/op-1');
    assert.deepEqual(request.firstCall.args[0], {
      url: 'https://run.googleapis.com/v2/projects/p/locations/europe-west1/jobs/tillstream-export-marts:run',
      method: 'POST',
      data: { overrides: { containerOverrides: [{ env: [{ name: 'TILLSTREAM_EXPORT_RUN', value: '{"name":"r"}' }] }] } },
    });
  });

  it('keeps the cause of a refused start, and refuses a job that is not a full resource name', async () => {
    const auth = new GoogleAuth();
    sinon.stub(auth, 'request').rejects(Object.assign(new Error('Permission run.jobs.runWithOverrides denied'), { status: 403 }));
    const err = await createJobStarter({ job: 'projects/p/locations/l/jobs/j', auth }).run({}).then(() => undefined, (e: Error) => e);
    assert.equal(err?.message, 'starting an execution of projects/p/locations/l/jobs/j failed');
    assert.match(String((err?.cause as Error).message), /runWithOverrides/);
    assert.throws(() => createJobStarter({ job: 'tillstream-export-marts' }), /is not projects\/PROJECT\/locations\/REGION\/jobs\/JOB/);
  });
});
