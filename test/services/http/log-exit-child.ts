// A process that logs request lines with the default logger, then ends as told: `exit` (process.exit
// right after the last request), `throw` (an uncaught exception), `drain` (the server closed, nothing left to run). Usage: log-exit-child.ts <file> <how> <n>
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultLogger, requestLogger } from '../../../services/http/logging.js';

const [file, how, n] = process.argv.slice(2);
// An hour between periodic flushes: only the exit can write the gathered lines.
const log = requestLogger(defaultLogger({ dest: file!, level: 'info', flushMs: 3_600_000 }));
const server = createServer((req, res) => log(req, res, () => res.end('ok')));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
for (let i = 0; i < Number(n); i++) await (await fetch(`${base}/r${i}`)).text();
if (how === 'throw') throw new Error('crash after the requests');
if (how === 'drain') server.close();
else process.exit(0);
