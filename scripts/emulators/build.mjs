#!/usr/bin/env node
// Builds the Pub/Sub and Bigtable test emulators from Debian's Go packages into .emulators/.
// Google's fakes (pstest, bttest) ship as Go sources in golang-google-cloud-dev; a few lines of Go
// (src/tillstream-emulators) serve them on a fixed address. Built in GOPATH mode: the Debian tree
// is a GOPATH, not a module cache, and nothing is downloaded.
//
//   node scripts/emulators/build.mjs          build when missing (installs the packages when root)
//   node scripts/emulators/build.mjs --force  rebuild
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const binDir = join(repoRoot, '.emulators');
export const binaries = { pubsub: join(binDir, 'pubsub-emulator'), bigtable: join(binDir, 'bigtable-emulator') };

const GOCODE = '/usr/share/gocode';
const PACKAGES = ['golang-go', 'golang-google-cloud-dev'];
export const INSTALL_COMMAND = `apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`;

const hasGo = () => spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
const hasFakes = () =>
  existsSync(join(GOCODE, 'src/cloud.google.com/go/pubsub/pstest')) && existsSync(join(GOCODE, 'src/cloud.google.com/go/bigtable/bttest'));

/** Go and Google's fakes are installed (the Debian packages above). */
export const toolchainReady = () => hasGo() && hasFakes();
export const EMULATOR_PACKAGES = PACKAGES;

export function emulatorsBuilt() {
  return existsSync(binaries.pubsub) && existsSync(binaries.bigtable);
}

/** Builds when missing; returns a message for a person, or throws with the exact command to run. */
export function buildEmulators({ force = false, log = (m) => process.stderr.write(m + '\n') } = {}) {
  if (!force && emulatorsBuilt()) return;
  if (!toolchainReady()) {
    if (process.getuid?.() !== 0) {
      throw new Error(`the GCP emulators need Debian packages; run as root:\n  ${INSTALL_COMMAND}\nthen: node scripts/emulators/build.mjs`);
    }
    log(`installing ${PACKAGES.join(', ')} (about 20 s)`);
    const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (update.status !== 0) throw new Error('apt-get update failed');
    const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...PACKAGES], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (install.status !== 0) throw new Error(`${INSTALL_COMMAND} failed`);
  }
  mkdirSync(binDir, { recursive: true });
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${here}:${GOCODE}`,
    GOCACHE: join(binDir, 'go-build'),
    GOFLAGS: '',
  };
  for (const [name, out] of Object.entries(binaries)) {
    log(`building the ${name} emulator`);
    execFileSync('go', ['build', '-o', out, `tillstream-emulators/${name}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    buildEmulators({ force: process.argv.includes('--force') });
    process.stderr.write(`emulators ready in ${binDir}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
