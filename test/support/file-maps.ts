// Memory maps of a file in this process, from /proc/self/maps (Linux, where the local runtime's
// stores are checked): lmdb-js maps a store's file anew each time it grows past its map and keeps the
// earlier maps, so more than one map of a file means its pages are counted resident more than once.
import { readFileSync } from 'node:fs';

export function mapsOf(path: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${path}`)).length;
}
