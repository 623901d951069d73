// Starts and stops the built Pub/Sub and Bigtable emulators (see build.mjs) on free local ports.
// Used by the integration tests of the gcp runtime; also runnable by hand:
//   npx tsx scripts/emulators/run.ts      prints the export lines, runs until Ctrl-C
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const binDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../.emulators');
const BINARIES = { pubsub: join(binDir, 'pubsub-emulator'), bigtable: join(binDir, 'bigtable-emulator') } as const;

export interface RunningEmulators {
  pubsubHost: string;
  bigtableHost: string;
  stop(): Promise<void>;
}

/** A port the OS just handed out; the emulator binds it right after, so a clash is unlikely. */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function startOne(name: keyof typeof BINARIES, host: string): Promise<ChildProcess> {
  const bin = BINARIES[name];
  if (!existsSync(bin)) {
    return Promise.reject(new Error(`the ${name} emulator is not built: run node scripts/emulators/build.mjs (npm test does it in pretest)`));
  }
  const child = spawn(bin, ['-addr', host], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveChild, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${name} emulator did not start within 15 s: ${output}`));
    }, 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        // Keep draining so a chatty emulator never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        resolveChild(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${name} emulator exited with ${code} before listening: ${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Starts both emulators on fresh ports; the caller sets the *_EMULATOR_HOST variables it needs. */
export async function startEmulators(): Promise<RunningEmulators> {
  const pubsubHost = `127.0.0.1:${await freePort()}`;
  const bigtableHost = `127.0.0.1:${await freePort()}`;
  const [pubsub, bigtable] = await Promise.all([startOne('pubsub', pubsubHost), startOne('bigtable', bigtableHost)]);
  const children = [pubsub, bigtable];
  // If the test process ends without calling stop, the emulators go with it.
  const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  process.once('exit', killAll);
  return {
    pubsubHost,
    bigtableHost,
    async stop() {
      process.off('exit', killAll);
      await Promise.all(children.map(stopChild));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const running = await startEmulators();
  process.stdout.write(`export PUBSUB_EMULATOR_HOST=${running.pubsubHost}\nexport BIGTABLE_EMULATOR_HOST=${running.bigtableHost}\n`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
