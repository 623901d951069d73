// The local warehouse's one DuckDB connection, shared by its roles (warehouse, raw sink, dedupe
// index, entry counter): DuckDB has a single writer, so every statement is serialized here, and
// calls that arrive while it is busy can be committed together (group commit).
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface Pending<I, O> {
  input: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class DuckDbSession {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** Runs fn with the connection to itself: every statement of the warehouse goes through here. */
  exclusive<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the warehouse is closed'));
    const run = () => fn(this.conn);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Runs fn inside one transaction with the connection to itself; rolls back if fn throws. */
  transaction<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive((conn) => inTransaction(conn, fn));
  }

  /**
   * Group commit: calls that arrive while the connection is busy are handled together, in arrival
   * order, by one `flush` (one transaction, one WAL sync) once it is their turn.
   */
  groupCommit<I, O>(flush: (conn: DuckDBConnection, batch: Pending<I, O>[]) => Promise<void>): (input: I) => Promise<O> {
    const queue: Pending<I, O>[] = [];
    return (input) =>
      new Promise<O>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (queue.length > 1) return; // a flush is scheduled already and will take this one too
        this.exclusive((conn) => flush(conn, queue.splice(0))).catch((err: unknown) => {
          for (const p of queue.splice(0)) p.reject(err); // closed before the flush could run
        });
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => undefined);
    this.closed = true;
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

export async function inTransaction<T>(conn: DuckDBConnection, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const out = await fn(conn);
    await conn.run('COMMIT');
    return out;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export const placeholders = (n: number): string => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
