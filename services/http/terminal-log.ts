// The request log of `tillstream start` on a terminal: one short line per request worth a look (4xx
// and 5xx; LOG_LEVEL=info shows every request), instead of a JSON line per dashboard call burying
// the read key and the URLs printed above. Anywhere else (a pipe, a file, a log collector) the JSON
// lines of defaultLogger, unchanged.
import { pino, type Logger } from 'pino';
import { defaultLogger } from './logging.js';

interface Destination {
  isTTY?: boolean;
  write(text: string): unknown;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** A pino JSON line as `HH:MM:SS level message` (the request line's message is `METHOD url status [ms]`). */
export function prettyLine(json: string): string {
  let o: { time?: number; level?: number; msg?: string; err?: { message?: string } };
  try {
    o = JSON.parse(json) as typeof o;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const time = new Date(o.time ?? Date.now()).toISOString().slice(11, 19);
  const level = LEVELS[o.level ?? 30] ?? String(o.level);
  const extra = o.err?.message && !String(o.msg ?? '').includes(o.err.message) ? ` (${o.err.message})` : '';
  return `${time} ${level.padEnd(5)} ${o.msg ?? ''}${extra}\n`;
}

export function terminalLogger(opts: { stream?: Destination; env?: NodeJS.ProcessEnv } = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (!stream.isTTY) return defaultLogger();
  return pino({ level: env.LOG_LEVEL ?? 'warn' }, { write: (line: string) => void stream.write(prettyLine(line)) });
}
