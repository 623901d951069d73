// Local API keys: the key records (HMAC hashes only, never a key) in <dataDir>/keys.json, replaced
// atomically on every change, and the pepper: 32 random bytes in <dataDir>/pepper, created 0600 on
// first use. In GCP the pepper lives in Secret Manager.
import { constants as fsc } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { newPepper } from '../../pipeline/auth/keys.js';
import type { KeyRecord, KeyStore } from '../../pipeline/ports.js';
import { writeAtomic } from './data-dir.js';

const PEPPER_BYTES = 32;

/** Reads the pepper, creating it on first use; every process of a data directory uses the same one. */
export async function loadOrCreatePepper(file: string): Promise<Buffer> {
  try {
    const fh = await open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
    try {
      await fh.writeFile(newPepper());
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`creating the pepper ${file}`, { cause: err });
  }
  const pepper = await readFile(file);
  if (pepper.length !== PEPPER_BYTES) {
    throw new Error(`the pepper ${file} holds ${pepper.length} bytes, expected ${PEPPER_BYTES}; restore it from a backup (replacing it invalidates every key)`);
  }
  return pepper;
}

interface KeysFile {
  keys: KeyRecord[];
}

export class LocalKeyStore implements KeyStore {
  private records: KeyRecord[] = [];
  private byHash = new Map<string, KeyRecord>();
  private seen: { mtimeMs: number; size: number } | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** Picks up changes another process made to the file (a command run while no server was running). */
  private async refresh(): Promise<void> {
    let st: { mtimeMs: number; size: number };
    try {
      st = await stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.set([]);
        this.seen = undefined;
        return;
      }
      throw err;
    }
    if (this.seen && this.seen.mtimeMs === st.mtimeMs && this.seen.size === st.size) return;
    const parsed = JSON.parse(await readFile(this.file, 'utf8')) as KeysFile;
    this.set(parsed.keys);
    this.seen = { mtimeMs: st.mtimeMs, size: st.size };
  }

  private set(records: KeyRecord[]): void {
    this.records = records;
    this.byHash = new Map(records.map((r) => [r.hash, r]));
  }

  private mutate<T>(fn: (records: KeyRecord[]) => { records: KeyRecord[]; out: T }): Promise<T> {
    const run = async () => {
      await this.refresh();
      const { records, out } = fn(this.records.map((r) => ({ ...r })));
      await writeAtomic(this.file, JSON.stringify({ keys: records } satisfies KeysFile, null, 2) + '\n');
      this.set(records);
      const st = await stat(this.file);
      this.seen = { mtimeMs: st.mtimeMs, size: st.size };
      return out;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  put(record: KeyRecord): Promise<void> {
    return this.mutate((records) => {
      const rest = records.filter((r) => r.id !== record.id);
      return { records: [...rest, { ...record }], out: undefined };
    });
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    await this.refresh();
    const r = this.byHash.get(hash);
    return r && { ...r, origins: [...r.origins] };
  }

  async list(): Promise<KeyRecord[]> {
    await this.refresh();
    return this.records.map((r) => ({ ...r, origins: [...r.origins] }));
  }

  revoke(id: string, at: Date): Promise<boolean> {
    return this.mutate((records) => {
      const r = records.find((x) => x.id === id);
      if (!r) return { records, out: false };
      if (!r.revoked_at) r.revoked_at = at.toISOString();
      return { records, out: true };
    });
  }
}
