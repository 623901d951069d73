// How much address space an LMDB store maps at open. lmdb-js starts with a 128 KB map and, each time
// the file outgrows it, maps the file again at a larger size — and keeps every earlier map, since
// Buffers it returned may still point into them (lmdb open.js, "we start small"). Each map counts the
// pages read through it in the process's resident set, so a store grown in place was counted about
// twice: in a 300k-event `start --once`, six maps of series.mdb held 150 MB resident over a 77 MB
// file. One map reserved large from the start is never remapped below that size. It is address
// space, not memory or disk: pages count only once touched, and without MDB_WRITEMAP (lmdb-js's
// default) the file grows only as data is written. Past it lmdb-js still grows the map as before.
import { arch } from 'node:os';

/** 64 GiB on a 64-bit machine (of its 128 TiB of user address space); lmdb-js's default otherwise. */
export const LMDB_MAP_SIZE: number | undefined = arch().endsWith('64') ? 64 * 2 ** 30 : undefined;

/** `mapSize` for lmdb's `open`, or nothing where lmdb-js should choose. */
export const lmdbMapOptions = (): { mapSize?: number } => (LMDB_MAP_SIZE === undefined ? {} : { mapSize: LMDB_MAP_SIZE });
