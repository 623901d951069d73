// Counts the ReadRows RPCs a Bigtable client starts: every table read (getRows, createReadStream, row.get)
// goes through Bigtable#request with method 'readRows', one call per RPC attempt.
import type { Bigtable } from '@google-cloud/bigtable';

export function countReadRows(client: Bigtable): { count(): number; restore(): void } {
  const original = client.request;
  let n = 0;
  client.request = function (this: Bigtable, config?: { method?: string }, callback?: unknown) {
    if (config?.method === 'readRows') n++;
    return (original as (...args: unknown[]) => unknown).call(this, config, callback);
  } as Bigtable['request'];
  return { count: () => n, restore: () => void (client.request = original) };
}
