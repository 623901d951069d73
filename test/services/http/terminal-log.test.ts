// The request log of `tillstream start`: short lines for 4xx/5xx on a terminal, JSON lines elsewhere.
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { requestLogger } from '../../../services/http/logging.js';
import { prettyLine, terminalLogger } from '../../../services/http/terminal-log.js';

function appLogging(stream: { isTTY?: boolean; write(t: string): unknown }, env: NodeJS.ProcessEnv = {}) {
  const app = express();
  app.use(requestLogger(terminalLogger({ stream, env })));
  app.get('/ok', (_req, res) => void res.json({}));
  app.get('/nope', (_req, res) => void res.status(401).json({}));
  return app;
}

describe('terminalLogger', () => {
  it('on a terminal writes one short line per 4xx/5xx request and nothing for the rest', async () => {
    const lines: string[] = [];
    const app = appLogging({ isTTY: true, write: (t) => lines.push(t) });
    await request(app).get('/ok').expect(200);
    await request(app).get('/nope?key=tsr_secret').expect(401);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d warn {2}GET \/nope\?key=redacted 401 \d+ms\n$/);
  });

  it('shows every request with LOG_LEVEL=info', async () => {
    const lines: string[] = [];
    const app = appLogging({ isTTY: true, write: (t) => lines.push(t) }, { LOG_LEVEL: 'info' });
    await request(app).get('/ok').expect(200);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d info {2}GET \/ok 200 \d+ms\n$/);
  });

  it('formats a pino line and passes anything else through', () => {
    assert.equal(prettyLine('{"level":50,"time":0,"msg":"GET /x 500","err":{"message":"failed with status code 500"}}'), '00:00:00 error GET /x 500 (failed with status code 500)\n');
    assert.equal(prettyLine('not json'), 'not json\n');
  });
});
