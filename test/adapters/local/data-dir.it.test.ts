// The data directory: where it is, its version file, and the lock of the one writing process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATA_DIR_VERSION,
  DataDirLockedError,
  DataDirVersionError,
  NotADataDirError,
  openDataDir,
  readLiveLock,
  resolveDataDir,
} from '../../../adapters/local/data-dir.js';

describe('data directory', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tillstream-dd-'));
    dir = join(root, 'data');
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('resolves TILLSTREAM_DATA_DIR, defaulting to .tillstream', () => {
    assert.equal(resolveDataDir({ TILLSTREAM_DATA_DIR: '/srv/ts' }), '/srv/ts');
    assert.equal(resolveDataDir({}), join(process.cwd(), '.tillstream'));
  });

  it('creates the directory and records its version', async () => {
    const dd = await openDataDir({ path: dir });
    await dd.close();
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'VERSION'), 'utf8')), { version: DATA_DIR_VERSION });
    const again = await openDataDir({ path: dir });
    await again.close();
  });

  it('refuses an older version, naming the directory to delete', async () => {
    await (await openDataDir({ path: dir })).close();
    await writeFile(join(dir, 'VERSION'), JSON.stringify({ version: 0 }));
    await assert.rejects(openDataDir({ path: dir }), (err: Error) => {
      assert.ok(err instanceof DataDirVersionError);
      assert.equal(
        err.message,
        `data directory ${dir} has layout version 0, this tillstream needs version ${DATA_DIR_VERSION}. It was written by an older tillstream. ` +
          `There is no in-place migration from version 0: delete the directory (rm -rf ${dir}) and load your data again ` +
          `(tillstream dimensions load, tillstream ingest), or point TILLSTREAM_DATA_DIR at a new directory.`,
      );
      return true;
    });
  });

  it('refuses a newer version, telling to upgrade', async () => {
    await (await openDataDir({ path: dir })).close();
    await writeFile(join(dir, 'VERSION'), JSON.stringify({ version: DATA_DIR_VERSION + 1 }));
    await assert.rejects(openDataDir({ path: dir }), /has layout version 2, this tillstream needs version 1\. It was written by a newer tillstream: upgrade tillstream/);
  });

  it('refuses a directory with stores but no VERSION as version 0', async () => {
    await (await openDataDir({ path: dir })).close();
    await rm(join(dir, 'VERSION'));
    await writeFile(join(dir, 'warehouse.duckdb'), '');
    await assert.rejects(openDataDir({ path: dir }), DataDirVersionError);
  });

  it('refuses a directory of other files as not a data directory, saying what it holds, and writes nothing into it', async () => {
    await mkdir(dir);
    await writeFile(join(dir, 'events.dimensions.json'), '{}');
    await writeFile(join(dir, 'events.ndjson'), '');
    await assert.rejects(openDataDir({ path: dir, storeNames: ['bus.mdb', 'warehouse.duckdb'] }), (err: Error) => {
      assert.ok(err instanceof NotADataDirError);
      assert.equal(
        err.message,
        `${dir} is not a tillstream data directory: it holds events.dimensions.json, events.ndjson and no VERSION file, so tillstream will not write into it. ` +
          'Point TILLSTREAM_DATA_DIR at an empty or new directory (the default is .tillstream/), or move those files out.',
      );
      return true;
    });
    await assert.rejects(readFile(join(dir, 'VERSION')), { code: 'ENOENT' });
  });

  it('lets one writer in and tells a second to go through the running process', async () => {
    const first = await openDataDir({ path: dir, command: 'tillstream start' });
    await first.updateLock({ url: 'http://127.0.0.1:8080' });
    await assert.rejects(openDataDir({ path: dir }), (err: Error) => {
      assert.ok(err instanceof DataDirLockedError);
      assert.match(err.message, new RegExp(`^data directory ${dir} is being written by tillstream start \\(pid ${process.pid}, since .+\\); only one process may write it\\. Send the request through the running process at http://127\\.0\\.0\\.1:8080 instead`));
      return true;
    });
    assert.equal((await readLiveLock(dir))?.url, 'http://127.0.0.1:8080');
    const reader = await openDataDir({ path: dir, write: false });
    await reader.close();
    await first.close();
    assert.equal(await readLiveLock(dir), undefined);
    await (await openDataDir({ path: dir })).close();
  });

  it('takes over the lock of a writer that died', async () => {
    await (await openDataDir({ path: dir })).close();
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    await writeFile(join(dir, 'writer.lock'), JSON.stringify({ pid: deadPid, host: hostname(), started_at: '2026-11-21T00:00:00Z' }));
    const dd = await openDataDir({ path: dir });
    assert.equal(dd.lock?.pid, process.pid);
    await dd.close();
  });
});
