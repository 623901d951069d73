// The local data directory (default `.tillstream/`, or TILLSTREAM_DATA_DIR): every durable local
// store lives under it. Opening it checks the layout version recorded in `VERSION`, and a writer
// takes `writer.lock` so that only one process (the running `tillstream start`, or a command run
// while it is not running) writes the stores at a time.
import { constants as fsc } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** Layout version of the data directory; bump it when a store's on-disk shape changes. */
export const DATA_DIR_VERSION = 1;
export const DEFAULT_DATA_DIR = '.tillstream';
const VERSION_FILE = 'VERSION';
const LOCK_FILE = 'writer.lock';

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  return resolve(explicit ?? (env.TILLSTREAM_DATA_DIR || DEFAULT_DATA_DIR));
}

export class DataDirVersionError extends Error {
  constructor(
    readonly path: string,
    readonly found: number,
    readonly expected: number,
  ) {
    const advice =
      found < expected
        ? `It was written by an older tillstream. There is no in-place migration from version ${found}: ` +
          `delete the directory (rm -rf ${path}) and load your data again (tillstream dimensions load, tillstream ingest), ` +
          `or point TILLSTREAM_DATA_DIR at a new directory.`
        : `It was written by a newer tillstream: upgrade tillstream (npm ci in an up-to-date clone), ` +
          `or point TILLSTREAM_DATA_DIR at another directory.`;
    super(`data directory ${path} has layout version ${found}, this tillstream needs version ${expected}. ${advice}`);
    this.name = 'DataDirVersionError';
  }
}

export interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  /** Base URL of the running `tillstream start`, so other commands can go through it. */
  url?: string;
  command?: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly path: string,
    readonly holder: LockInfo,
  ) {
    const via = holder.url
      ? `Send the request through the running process at ${holder.url} instead (tillstream commands do this when it is reachable).`
      : `Go through the running process, or stop it first.`;
    super(
      `data directory ${path} is being written by ${holder.command ?? 'another tillstream process'} (pid ${holder.pid}, ` +
        `since ${holder.started_at}); only one process may write it. ${via}`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDir {
  readonly path: string;
  /** Path of a file or store inside the directory. */
  file(...parts: string[]): string;
  /** Present when this process holds the writer lock. */
  readonly lock?: LockInfo;
  /** Updates the lock record (e.g. with the URL once the server listens). */
  updateLock(patch: Partial<Pick<LockInfo, 'url' | 'command'>>): Promise<void>;
  /** Releases the writer lock; safe to call twice. */
  close(): Promise<void>;
}

export interface OpenDataDirOptions {
  path?: string;
  /**
   * Names of the stores kept inside. A directory without VERSION that holds none of them is not an
   * old data directory but someone else's (a folder of exports, say), and is refused as such.
   */
  storeNames?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Take the writer lock (default true). Read-only users skip it. */
  write?: boolean;
  command?: string;
}

/** Creates the directory if needed, checks its version, and (for writers) takes the writer lock. */
export async function openDataDir(opts: OpenDataDirOptions = {}): Promise<DataDir> {
  const path = resolveDataDir(opts.env, opts.path);
  await mkdir(path, { recursive: true, mode: 0o700 });
  await checkVersion(path, opts.storeNames);
  const write = opts.write ?? true;
  let lock: LockInfo | undefined;
  if (write) lock = await acquireLock(path, opts.command);
  let closed = false;
  return {
    path,
    file: (...parts) => join(path, ...parts),
    lock,
    async updateLock(patch) {
      if (!lock || closed) throw new Error('this process does not hold the writer lock');
      Object.assign(lock, patch);
      await writeAtomic(join(path, LOCK_FILE), JSON.stringify(lock) + '\n');
    },
    async close() {
      if (closed) return;
      closed = true;
      if (lock) await releaseLock(path, lock);
    },
  };
}

/** The lock record of the process writing the directory, if one is alive. */
export async function readLiveLock(path: string): Promise<LockInfo | undefined> {
  const info = await readLock(join(path, LOCK_FILE));
  return info && isAlive(info) ? info : undefined;
}

/** A directory that was never a data directory and is not empty: tillstream will not write into it. */
export class NotADataDirError extends Error {
  override name = 'NotADataDirError';
  constructor(readonly path: string, readonly files: readonly string[]) {
    const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? ` and ${files.length - 5} more` : '');
    super(
      `${path} is not a tillstream data directory: it holds ${shown} and no ${VERSION_FILE} file, so tillstream will not write into it. ` +
        `Point TILLSTREAM_DATA_DIR at an empty or new directory (the default is ${DEFAULT_DATA_DIR}/), or move those files out.`,
    );
  }
}

async function checkVersion(path: string, storeNames?: readonly string[]): Promise<void> {
  const file = join(path, VERSION_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`reading ${file}`, { cause: err });
  }
  if (text === undefined) {
    // A directory with stores in it but no VERSION predates versioning: version 0.
    const existing = (await readdir(path)).filter((n) => n !== LOCK_FILE && !n.startsWith('.'));
    if (existing.length > 0 && storeNames && !existing.some((n) => storeNames.includes(n))) throw new NotADataDirError(path, existing.sort());
    if (existing.length > 0) throw new DataDirVersionError(path, 0, DATA_DIR_VERSION);
    await writeAtomic(file, JSON.stringify({ version: DATA_DIR_VERSION }) + '\n');
    return;
  }
  let version: unknown;
  try {
    version = (JSON.parse(text) as { version?: unknown }).version;
  } catch (err) {
    throw new Error(`${file} is not valid JSON; expected {"version": ${DATA_DIR_VERSION}}`, { cause: err });
  }
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new Error(`${file} has no integer "version"; expected {"version": ${DATA_DIR_VERSION}}`);
  }
  if (version !== DATA_DIR_VERSION) throw new DataDirVersionError(path, version, DATA_DIR_VERSION);
}

async function acquireLock(path: string, command?: string): Promise<LockInfo> {
  const file = join(path, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), ...(command ? { command } : {}) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL makes taking the lock atomic: of two racing processes exactly one creates the file.
      const fh = await open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
      try {
        await fh.writeFile(JSON.stringify(info) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      return info;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`taking the writer lock ${file}`, { cause: err });
    }
    const holder = await readLock(file);
    if (holder && isAlive(holder)) throw new DataDirLockedError(path, holder);
    // The holder died without releasing (e.g. it was killed): the lock is stale, take it over.
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  throw new Error(`could not take the writer lock ${file}: another process keeps taking it`);
}

async function releaseLock(path: string, lock: LockInfo): Promise<void> {
  const file = join(path, LOCK_FILE);
  const holder = await readLock(file);
  if (holder && holder.pid === lock.pid && holder.host === lock.host) await unlink(file).catch(() => undefined);
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    // Missing, or torn by a crash while being written: treat as no holder.
    return undefined;
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot check another host's processes: assume alive
  if (info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a file so that readers see the old or the new content, never a torn one. */
export async function writeAtomic(file: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
