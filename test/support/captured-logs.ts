// Server logs of an end-to-end test, kept out of the test output: written to memory and printed only
// when a test fails, where they help.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function capturedLogs(title: string): { logger: Logger; lines: string[]; printIfFailed(this: Mocha.Context): void } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    lines,
    printIfFailed(this: Mocha.Context) {
      if (this.currentTest?.state === 'failed' && lines.length) process.stderr.write(`--- ${title} (${lines.length} lines) ---\n${lines.join('\n')}\n`);
    },
  };
}
