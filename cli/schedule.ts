// The in-process scheduler of the local runtime: runs a job every hour at a fixed minute (the marts at
// :05, as the BigQuery scheduled query does), never two at once. Resolves when the signal aborts.
import type { Clock } from '../pipeline/ports.js';
import { msUntilMinute } from '../pipeline/time.js';

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
