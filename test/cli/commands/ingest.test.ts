// The checks `tillstream ingest` makes before it opens anything; the load itself runs in
// test/cli/start.e2e.test.ts and test/cli/forward.e2e.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestCommand } from '../../../cli/commands/ingest.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';

describe('tillstream ingest', () => {
  let dir: string;
  let opened: number;
  let ctx: CommandContext;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ingest-cmd-'));
    opened = 0;
    ctx = {
      runtime: () => {
        opened++;
        return Promise.reject(new Error('not opened in these tests'));
      },
      out: () => undefined,
      err: () => undefined,
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refuses = (argv: string[], message: RegExp) => assert.rejects(ingestCommand(argv, ctx), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));

  it('refuses bad usage and unreadable files before opening the data directory', async () => {
    const csv = join(dir, 'pos.csv');
    await writeFile(csv, 'not,a,pos,header\n1,2,3,4\n');
    await refuses([], /^usage: tillstream ingest --file F --source pos/);
    await refuses(['--file', csv, '--source', 'fax'], /--source must be one of online, pos, web, server/);
    await refuses(['--file', csv, '--format', 'xml'], /--format must be ndjson or csv/);
    await refuses(['--file', join(dir, 'absent.ndjson')], /cannot read .*absent\.ndjson: ENOENT/);
    await assert.rejects(ingestCommand(['--file', csv, '--bogus'], ctx), /Unknown option '--bogus'/);
    assert.equal(opened, 0);
  });
});
