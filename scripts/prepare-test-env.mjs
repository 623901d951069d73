// `npm test` prepares what it needs (DESIGN.md's README contract): Chromium for the browser tests, and the
// emulators (`npm run bench` asks for the emulators only: its api-reads and export figures run on them).
// Each part adds one step to STEPS; a step checks whether its tool is present, installs it with apt-get
// when missing and we run as root, and otherwise stops with the exact command to run.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let aptUpdated = false;

/** Installs Debian packages; as root directly, else fails with the command a person should run. */
function aptInstall(packages, why) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (!isRoot) {
    console.error(`prepare-test-env: ${why} is missing. Run as root:\n  ${command}`);
    process.exit(1);
  }
  console.error(`prepare-test-env: installing ${packages.join(' ')} (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update'], env, command);
    aptUpdated = true;
  }
  // Wait for another apt run (a parallel install step) instead of failing on the dpkg lock.
  run('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...packages], env, command);
}

function run(cmd, args, env, hint) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) {
    console.error(`prepare-test-env: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}). Run as root:\n  ${hint}`);
    process.exit(1);
  }
}

/** Each step: a name, a check, and how to make the check pass. Add emulator steps below. */
export const STEPS = [
  {
    name: 'chromium',
    // The browser tests drive Debian's Chromium through playwright-core (its own browser downloads cannot run here).
    ready: () => existsSync('/usr/bin/chromium'),
    prepare: () => aptInstall(['chromium'], 'Chromium for the dashboard browser test (/usr/bin/chromium)'),
  },
];

// ---- gcp emulators (Pub/Sub, Bigtable): built from Debian's Go packages, see scripts/emulators/build.mjs ----
import { buildEmulators, emulatorsBuilt, toolchainReady, EMULATOR_PACKAGES } from './emulators/build.mjs';
STEPS.push({
  name: 'gcp-emulators',
  ready: emulatorsBuilt,
  prepare: () => {
    if (!toolchainReady()) aptInstall(EMULATOR_PACKAGES, 'Go and the Pub/Sub and Bigtable fakes for the gcp adapter tests');
    try {
      buildEmulators({ log: (m) => console.error(`prepare-test-env: ${m}`) });
    } catch (err) {
      console.error(`prepare-test-env: ${err.message}\n  run: node scripts/emulators/build.mjs`);
      process.exit(1);
    }
  },
});
// ---- end gcp emulators ----

// With step names as arguments, just those steps.
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !STEPS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`prepare-test-env: no step ${unknown.join(', ')}; the steps are ${STEPS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
for (const step of STEPS) {
  if (wanted.length > 0 && !wanted.includes(step.name)) continue;
  if (step.ready()) continue;
  step.prepare();
  if (!step.ready()) {
    console.error(`prepare-test-env: ${step.name} is still not ready after preparing it`);
    process.exit(1);
  }
}
