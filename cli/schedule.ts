// The in-process scheduler of the local runtime: runs a job every hour at a fixed minute (the marts at
// :05, as the BigQuery scheduled query does), never two at once. Resolves when the signal aborts.
import type { Clock } from '../pipeline/ports.js';

const HOUR_MS = 3_600_000;

export function msUntilMinute(now: Date, minute: number): number {
  const hourStart = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  let next = hourStart + minute * 60_000;
  if (next <= now.getTime()) next += HOUR_MS;
  return next - now.getTime();
}

export async function startHourlySchedule(opts: {
  minute: number;
  clock: Clock;
  signal: AbortSignal;
  run: () => Promise<void>;
  onError: (err: unknown) => void;
}): Promise<void> {
  while (!opts.signal.aborted) {
    const wait = msUntilMinute(opts.clock.now(), opts.minute);
    const fired = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), wait);
      opts.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(false); }, { once: true });
    });
    if (!fired) return;
    try {
      await opts.run();
    } catch (err) {
      opts.onError(err);
    }
  }
}
