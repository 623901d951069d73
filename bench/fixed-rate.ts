// Latency at a fixed request rate, open loop: request i is due at start + i / rate, whether or not
// earlier answers have come, and its latency counts from when it was due, so a stalled server shows in
// every request that waited behind it (no coordinated omission).
// autocannon's `overallRate` cannot give this figure: each connection sends its share of a second back
// to back as fast as answers come, then pauses until the next second (autocannon 9 lib/httpClient.js,
// `reqsMadeThisSecond`), so "2,000 requests/s" is a burst at full speed once a second.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface FixedRateResult {
  rate_rps: number;
  seconds: number;
  /** Requests due in the timed span (after the warm-up second), all of them answered or failed. */
  requests: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** How late the client itself sent the 99th percentile request: the share of the latency that is the client's timer. */
  send_delay_p99_ms: number;
  non2xx: number;
  errors: number;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
const round2 = (ms: number) => Math.round(ms * 100) / 100;

/**
 * GET `paths` in turn from 127.0.0.1:`port` at `rate` requests a second for `warmupSeconds` + `seconds`;
 * the warm-up's requests (connections opening) are sent but not counted.
 */
export async function fixedRate(opts: FixedRateOptions): Promise<FixedRateResult> {
  return (await fixedRateRun(opts)).result;
}

export interface FixedRateOptions {
  port: number;
  paths: string[];
  rate: number;
  seconds: number;
  warmupSeconds?: number;
  headers?: Record<string, string>;
  maxSockets?: number;
}

/** `fixedRate` with every counted request's latency, ms, in ascending order. */
export async function fixedRateRun(opts: FixedRateOptions): Promise<{ result: FixedRateResult; latencies: Float64Array }> {
  const { port, paths, rate, seconds, headers = {} } = opts;
  const warmup = opts.warmupSeconds ?? 1;
  const total = Math.round(rate * (warmup + seconds));
  const counted = Math.round(rate * seconds);
  const firstCounted = total - counted;
  const intervalMs = 1000 / rate;
  // Enough sockets that a slow answer does not hold back the requests due after it.
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const latencies = new Float64Array(counted);
  const sendDelays = new Float64Array(counted);
  let non2xx = 0;
  let errors = 0;
  let settled = 0;
  let next = 0;
  const start = performance.now() + 5;

  await new Promise<void>((resolve) => {
    const done = (i: number, dueAt: number, failed: boolean, status?: number) => {
      if (i >= firstCounted) {
        latencies[i - firstCounted] = performance.now() - dueAt;
        if (failed) errors++;
        else if (status! < 200 || status! >= 300) non2xx++;
      }
      if (++settled === total) resolve();
    };
    const send = (i: number, dueAt: number) => {
      if (i >= firstCounted) sendDelays[i - firstCounted] = performance.now() - dueAt;
      const req = request({ host: '127.0.0.1', port, path: paths[i % paths.length], headers, agent }, (res) => {
        res.on('data', () => {});
        res.on('end', () => done(i, dueAt, false, res.statusCode));
        res.on('error', () => done(i, dueAt, true));
      });
      req.on('error', () => done(i, dueAt, true));
      req.end();
    };
    // A 1 ms timer sends every request that has come due: never early, at most a timer tick late
    // (which the latency includes, and `send_delay_p99_ms` shows).
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        send(next, start + next * intervalMs);
        next++;
      }
      if (next < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 5);
  });
  agent.destroy();

  latencies.sort();
  sendDelays.sort();
  const result = {
    rate_rps: rate,
    seconds,
    requests: counted,
    p50_ms: round2(percentile(latencies, 0.5)),
    p99_ms: round2(percentile(latencies, 0.99)),
    max_ms: round2(latencies[latencies.length - 1] ?? 0),
    send_delay_p99_ms: round2(percentile(sendDelays, 0.99)),
    non2xx,
    errors,
  };
  return { result, latencies };
}
