// The key pepper reaches exactly the workloads that hash keys: the collect function and the query
// API mount the Secret Manager secret as TILLSTREAM_KEY_PEPPER, and only their accounts may read it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseGcpConfig } from '../../adapters/gcp/config.js';
import { grants, synthesize, type Block, type Synthesized } from './synth.js';

describe('infra-cdktf key pepper (dev)', () => {
  let s: Synthesized;
  before(() => {
    s = synthesize('dev');
  });

  const resolved = (b: Block): Block => JSON.parse(s.resolve(JSON.stringify(b))) as Block;
  /** The depends_on entry naming the accessor grant of one reader (logical ids carry a hash suffix). */
  const grantOf = (reader: string): string => {
    const ids = Object.keys(s.resources('google_secret_manager_secret_iam_member')).filter((id) => id.startsWith(`operations_pepper-${reader}_`));
    assert.equal(ids.length, 1);
    return `google_secret_manager_secret_iam_member.${ids[0]}`;
  };

  it('mounts the pepper secret into collect, and into no other function', () => {
    const secretEnv = Object.fromEntries(
      Object.values(s.resources('google_cloudfunctions2_function')).map((f) => [f.name, resolved(f).service_config.secret_environment_variables ?? null]),
    );
    assert.deepEqual(secretEnv, {
      'tillstream-ingest-events': null,
      'tillstream-ingest-pos-batch': null,
      'tillstream-start-export': null,
      'tillstream-deliver-alert': null,
      'tillstream-evaluate-alerts': null,
      'tillstream-collect': [{ key: 'TILLSTREAM_KEY_PEPPER', project_id: s.config.projectId, secret: 'tillstream-key-pepper', version: 'latest' }],
    });
    const collect = s.find('google_cloudfunctions2_function', 'name', 'tillstream-collect');
    // It waits for exactly its own accessor grant (other waits, for build roles, its app profile and
    // the enabled APIs, are the platform rules' concern).
    assert.deepEqual(
      (collect.depends_on as string[]).filter((d) => d.startsWith('google_secret_manager_secret_iam_member.')),
      [grantOf('collect')],
    );
  });

  it('mounts the pepper secret into the query API container, after its accessor grant', () => {
    const api = s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api');
    const env = resolved(api).template.containers[0].env as Block[];
    assert.deepEqual(
      env.filter((e) => e.value_source),
      [{ name: 'TILLSTREAM_KEY_PEPPER', value_source: { secret_key_ref: { secret: 'tillstream-key-pepper', version: 'latest' } } }],
    );
    assert.ok((api.depends_on as string[]).includes(grantOf('queryApi')));
    // With the mounted value beside the plain variables, the runtime's configuration has its pepper.
    const plain = Object.fromEntries(env.filter((e) => !e.value_source).map((e) => [e.name, e.value]));
    assert.deepEqual(parseGcpConfig({ ...plain, TILLSTREAM_KEY_PEPPER: 'ab'.repeat(32) }).pepper, Buffer.alloc(32, 0xab));
  });

  it('lets only the collect and query API accounts access the secret', () => {
    assert.deepEqual(
      grants(s)
        .filter((g) => g.on === 'secret:tillstream-key-pepper')
        .map((g) => `${g.member} ${g.role}`)
        .sort(),
      [
        'serviceAccount:google_service_account:ts-collect roles/secretmanager.secretAccessor',
        'serviceAccount:google_service_account:ts-query-api roles/secretmanager.secretAccessor',
      ],
    );
  });

  it('creates the secret in the foundation apply, before the workloads that mount it, at addresses that exist', () => {
    const script = readFileSync(new URL('../../infra-cdktf/build/terraform.sh', import.meta.url), 'utf8');
    const targets = [...script.matchAll(/-target=([a-z0-9_]+)\.([A-Za-z0-9_-]+)/g)].map((m) => `${m[1]}.${m[2]}`);
    assert.ok(targets.includes('google_secret_manager_secret.pepper'));
    assert.ok(targets.includes('google_project_service.api-secretmanager'));
    assert.deepEqual(
      targets.filter((t) => {
        const [type, id] = t.split('.') as [string, string];
        return !s.resources(type)[id];
      }),
      [],
    );
    assert.equal(s.resources('google_secret_manager_secret').pepper?.secret_id, 'tillstream-key-pepper');
  });
});
