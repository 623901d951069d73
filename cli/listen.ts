// The port of `tillstream start`, taken before any work: a busy port is reported at once, with what
// to do, instead of after the demo was generated, ingested and built. The server listens from then on
// and answers 503 until the app is ready, so the port cannot be taken in between.
import { createServer, type RequestListener, type Server } from 'node:http';
import { UsageError } from './context.js';

/** Said like a usage error (no stack, exit 2): the fix is the user's, a free port. */
export class PortInUseError extends UsageError {
  constructor(readonly port: number, cause: unknown) {
    super(
      `port ${port} is already in use (another program, or another tillstream start, listens on it); ` +
        `nothing was done. Stop that program, or pick a free port: PORT=${port === 8080 ? 8081 : port + 1} npm start, or tillstream start --port ${port === 8080 ? 8081 : port + 1}`,
      { cause },
    );
  }
}

export interface ReservedPort {
  server: Server;
  /** The port listened on (the one asked for, or the one the system chose for 0). */
  port: number;
  /** Starts serving `app`; until then every request is answered 503. */
  serve(app: RequestListener): void;
}

const STARTING = JSON.stringify({ error: { code: 'starting', message: 'tillstream is still loading its data; try again in a moment' } });

export function reservePort(port: number): Promise<ReservedPort> {
  let app: RequestListener | undefined;
  const server = createServer((req, res) => {
    if (app) return void app(req, res);
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end(STARTING);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, err) : new Error(`cannot listen on port ${port}: ${err.message}`, { cause: err }));
    });
    server.listen(port, () => {
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        serve(next) {
          app = next;
        },
      });
    });
  });
}
