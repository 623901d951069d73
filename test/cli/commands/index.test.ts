import assert from 'node:assert/strict';
import { COMMANDS } from '../../../cli/commands/index.js';
import { withAbsolutePaths } from '../../../cli/forward.js';

describe('the command table', () => {
  it('names each command in its summary, the usage line tillstream prints', () => {
    for (const [name, spec] of Object.entries(COMMANDS)) assert.ok(spec.summary.startsWith(`${name} `) || spec.summary.startsWith(`${name}\t`), name);
  });

  it('declares the file arguments of the commands that go through a running start', () => {
    assert.deepEqual(withAbsolutePaths(COMMANDS.ingest!, ['ingest', '--file', 'w.ndjson', '--source', 'pos'], '/home/u'), ['ingest', '--file', '/home/u/w.ndjson', '--source', 'pos']);
    assert.deepEqual(withAbsolutePaths(COMMANDS.dimensions!, ['dimensions', 'load', 'd.json'], '/home/u'), ['dimensions', 'load', '/home/u/d.json']);
    // Commands without files are forwarded as given.
    assert.deepEqual(withAbsolutePaths(COMMANDS.keys!, ['keys', 'revoke', 'key_1'], '/home/u'), ['keys', 'revoke', 'key_1']);
  });
});
