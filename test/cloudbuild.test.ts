// cloudbuild.yaml: step order, and every script, file, mode and substitution it names exists.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { FUNCTION_RUNTIME } from '../infra-cdktf/constructs/functions.js';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Step {
  id: string;
  name: string;
  entrypoint?: string;
  args?: string[];
  env?: string[];
}

const build = parse(read('cloudbuild.yaml')) as { steps: Step[]; substitutions: Record<string, string> };
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** What a step runs: an npm script of package.json, `npm ci` on the lock file, or a file of the repo. */
function invoked(step: Step): { kind: 'npm-script' | 'npm-ci' | 'file'; target: string } {
  const args = step.args ?? [];
  if (step.entrypoint === 'npm') {
    if (args[0] === 'ci') return { kind: 'npm-ci', target: 'package-lock.json' };
    if (args[0] === 'run') return { kind: 'npm-script', target: args[1]! };
    if (args[0] === 'test' || args[0] === 'start') return { kind: 'npm-script', target: args[0] };
    throw new Error(`${step.id}: unexpected npm command ${args.join(' ')}`);
  }
  if (step.entrypoint === 'npx' && args[0] === 'tsx') return { kind: 'file', target: args[1]! };
  if (step.entrypoint === 'bash' || step.entrypoint === 'sh' || step.entrypoint === 'node') return { kind: 'file', target: args[0]! };
  throw new Error(`${step.id}: runs neither npm, npx tsx nor a script file (entrypoint ${step.entrypoint ?? '(image default)'})`);
}

describe('cloudbuild.yaml', () => {
  it('installs, type-checks, tests, builds, synthesizes and deploys, in that order', () => {
    assert.deepEqual(
      build.steps.map((s) => s.id),
      ['install', 'typecheck', 'test', 'build-functions', 'synth', 'deploy-foundation', 'publish-functions', 'publish-image', 'deploy'],
    );
  });

  it('calls, in every step, an npm script or a file that exists in the repository', () => {
    const calls = build.steps.map((s) => ({ id: s.id, ...invoked(s) }));
    for (const c of calls) {
      if (c.kind === 'npm-script') assert.ok(scripts[c.target], `${c.id}: package.json has no "${c.target}" script`);
      else assert.ok(existsSync(new URL(c.target, root)), `${c.id}: ${c.target} does not exist`);
    }
    assert.deepEqual(
      calls.map((c) => `${c.id}: ${c.kind} ${c.target}`),
      [
        'install: npm-ci package-lock.json',
        'typecheck: npm-script typecheck',
        'test: npm-script test',
        'build-functions: file infra-cdktf/build/package-functions.ts',
        'synth: npm-script synth',
        'deploy-foundation: file infra-cdktf/build/terraform.sh',
        'publish-functions: file infra-cdktf/build/publish.sh',
        'publish-image: file infra-cdktf/build/publish.sh',
        'deploy: file infra-cdktf/build/terraform.sh',
      ],
    );
  });

  it('passes only the modes the scripts accept', () => {
    const modes = build.steps.filter((s) => /\.sh$/.test(s.args?.[0] ?? '')).map((s) => `${s.args![0]} ${s.args![1]}`);
    for (const m of modes) {
      const [file, mode] = m.split(' ') as [string, string];
      assert.match(read(file), new RegExp(`^\\s*${mode}\\)`, 'm'), `${file} has no "${mode})" case`);
    }
  });

  it('takes the environment as a substitution and hands project, environment and release to synth', () => {
    assert.equal(build.substitutions._ENV, 'dev');
    const synth = build.steps.find((s) => s.id === 'synth')!;
    assert.deepEqual(synth.env, [
      'TILLSTREAM_ENV=${_ENV}',
      'TILLSTREAM_PROJECT=${PROJECT_ID}',
      'TILLSTREAM_FUNCTIONS_OBJECT=functions/${BUILD_ID}.zip',
      'TILLSTREAM_API_IMAGE=${_REGION}-docker.pkg.dev/${PROJECT_ID}/tillstream/query-api:${BUILD_ID}',
      'TILLSTREAM_EXPORT_IMAGE=${_REGION}-docker.pkg.dev/${PROJECT_ID}/tillstream/export-job:${BUILD_ID}',
    ]);
  });

  it('uses only substitutions it declares or Cloud Build provides', () => {
    const used = new Set([...read('cloudbuild.yaml').matchAll(/\$\{?([A-Z_]+)\}?/g)].map((m) => m[1]!));
    const builtIn = ['PROJECT_ID', 'BUILD_ID'];
    assert.deepEqual([...used].filter((u) => !builtIn.includes(u) && !(u in build.substitutions)), []);
  });

  it('builds, tests and serves on the Node.js major the functions deploy on, and CI runs the suites on it too', () => {
    const major = Number(/^nodejs(\d+)$/.exec(FUNCTION_RUNTIME)![1]);
    const images = [
      build.substitutions._NODE_IMAGE!,
      ...['query-api', 'export-job'].flatMap((name) => [...read(`infra-cdktf/build/${name}.Dockerfile`).matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!)),
    ];
    assert.deepEqual(
      images.map((i) => Number(/^node:(\d+)/.exec(i)?.[1])),
      images.map(() => major),
      images.join(', '),
    );
    const ci = read('.ci/run');
    const pinned = /^NODE\d+=node@(\d+)\.\d+\.\d+$/m.exec(ci);
    assert.ok(pinned, '.ci/run pins an exact node@<major>.<minor>.<patch>');
    assert.equal(Number(pinned[1]), major);
    assert.match(ci, /npm run test:unit/);
    assert.match(ci, /npm run test:integration/);
  });
});
