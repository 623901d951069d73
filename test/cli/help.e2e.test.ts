// `-h`, `--help` and `--version` for every command, answered before the command parses its options.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../cli/commands/index.js';

const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, TILLSTREAM_DATA_DIR: '/nonexistent/never-opened' } });

describe('tillstream --help and --version', () => {
  for (const name of Object.keys(COMMANDS)) {
    it(`${name} --help prints its usage and examples on stdout and exits 0 without opening the data directory`, () => {
      const flag = name === 'keys' ? '-h' : '--help';
      const r = run(name === 'keys' ? [name, 'create', flag] : [name, flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^usage: tillstream ${name} `));
      if (name !== 'generate') assert.match(r.stdout, new RegExp(`\\nexamples:\\n(  (\\w+=\\S+ )?npx tillstream ${name}( .*)?\\n)+$`));
    });
  }

  it('answers --version for the program and for any command', () => {
    for (const args of [['--version'], ['ingest', '--version'], ['marts', '--from', 'x', '--version']]) {
      const r = run(args);
      assert.deepEqual([r.status, r.stdout, r.stderr], [0, `tillstream ${VERSION}\n`, '']);
    }
  });

  it('lists the commands for -h and for help, and refuses an unknown command with exit 2', () => {
    for (const args of [['-h'], ['help'], ['--help']]) {
      const r = run(args);
      assert.equal(r.status, 0);
      assert.ok(Object.keys(COMMANDS).every((c) => r.stdout.includes(`\n  ${c} `)), r.stdout);
    }
    const r = run(['nope']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^unknown command nope\nusage: tillstream <command>/);
  });
});
