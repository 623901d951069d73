import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixedRateRun } from '../../bench/fixed-rate.js';

describe('fixed-rate latency (bench/fixed-rate.ts)', () => {
  let server: Server;
  let port: number;
  let seen = 0;
  let stallAt = Infinity;

  before(async () => {
    server = createServer((req, res) => {
      seen++;
      // A server that stops for 300 ms once: its event loop blocked, as a long GC pause would.
      if (seen === stallAt) {
        const until = Date.now() + 300;
        while (Date.now() < until);
      }
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen = 0;
    stallAt = Infinity;
  });

  it('answers every request due in the timed span and counts non-2xx answers', async () => {
    const { result, latencies } = await fixedRateRun({ port, paths: ['/ok', '/missing'], rate: 200, seconds: 1, warmupSeconds: 0.2 });
    assert.equal(result.requests, 200);
    assert.equal(latencies.length, 200);
    assert.equal(seen, 240, 'the warm-up requests are sent too');
    assert.equal(result.non2xx, 100);
    assert.equal(result.errors, 0);
    assert.ok(result.p50_ms <= result.p99_ms && result.p99_ms <= result.max_ms);
  });

  it('counts a stall against every request that came due during it, not only those in flight', async () => {
    // At 200 requests/s, 60 requests come due during a 300 ms stall; an open-loop client's latencies
    // count from when each was due, so about half of them wait 150 ms or more (300, 295, … ms). A
    // client that waits for answers before sending sees only the few requests in flight as slow.
    stallAt = 140;
    const { result, latencies } = await fixedRateRun({ port, paths: ['/ok'], rate: 200, seconds: 1.5, warmupSeconds: 0.2 });
    const slow = latencies.filter((ms) => ms >= 150).length;
    assert.ok(slow >= 25, `requests of 150 ms or more: ${slow}`);
    assert.ok(result.max_ms >= 250, `max ${result.max_ms} ms`);
    assert.equal(result.requests, 300);
  });
});
