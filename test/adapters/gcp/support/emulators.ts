// Root hooks for the gcp integration tests: the Pub/Sub and Bigtable emulators start once per test
// process, the first time a suite asks for them, and stop after the last test. Importing this module
// registers the stop hook on mocha's root suite.
import { startEmulators, type RunningEmulators } from '../../../../scripts/emulators/run.js';

let running: Promise<RunningEmulators> | undefined;

export const TEST_PROJECT = 'tillstream-test';
export const TEST_INSTANCE = 'tillstream-test-instance';

/** Starts the emulators (once) and points the Google clients at them. */
export async function useEmulators(): Promise<RunningEmulators> {
  running ??= startEmulators();
  const r = await running;
  // Set on every call: another suite may have replaced the environment in between.
  process.env.PUBSUB_EMULATOR_HOST = r.pubsubHost;
  process.env.BIGTABLE_EMULATOR_HOST = r.bigtableHost;
  // Offline: no metadata server to ask for a project or credentials.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.GOOGLE_CLOUD_PROJECT = TEST_PROJECT;
  return r;
}

/**
 * The environment of a gcp-runtime process against the emulators: the test project and Bigtable
 * instance, no metadata server, and buckets it must name but the test leaves unused; `extra` adds the
 * test's own tables and settings, or replaces any of these.
 */
export function gcpRuntimeEnv(emulators: RunningEmulators, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    TILLSTREAM_RUNTIME: 'gcp',
    BIGTABLE_EMULATOR_HOST: emulators.bigtableHost,
    METADATA_SERVER_DETECTION: 'none',
    TILLSTREAM_GCP_PROJECT: TEST_PROJECT,
    TILLSTREAM_BIGTABLE_INSTANCE: TEST_INSTANCE,
    TILLSTREAM_ARCHIVE_BUCKET: 'unused-archive',
    TILLSTREAM_POS_BUCKET: 'unused-pos',
    TILLSTREAM_DIMENSIONS_BUCKET: 'unused-config',
    ...extra,
  };
}

after(async function stopEmulators() {
  this.timeout(10_000);
  if (running) await (await running).stop();
  running = undefined;
});
