// Progress of a long step on stderr: a live bar with rate and ETA on a terminal, a plain line every
// few seconds otherwise (a log file, a pipe), nothing with --quiet. cli-progress draws both: on a
// stream that is not a TTY its `noTTYOutput` mode prints the same line on a schedule, one per line.
// stdout is untouched, so a command's machine-read last line stays last.
import { SingleBar } from 'cli-progress';

export interface ProgressStep {
  /** Sets how much is done (and the total, when it grows as input is read); `detail` names what is under way. */
  update(done: number, total?: number, detail?: string): void;
  /** Ends the step: the bar is drawn once more at its final value and left on its own line. */
  stop(): void;
}

export interface ProgressReporter {
  /** A step of `total` units (`unit` names them: "entries", "windows"). */
  start(label: string, total: number, unit: string): ProgressStep;
}

export const NO_PROGRESS: ProgressReporter = { start: () => ({ update() {}, stop() {} }) };

export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds between plain lines when the stream is not a terminal. */
  plainEveryMs?: number;
}

const perSecond = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

export function createProgress(opts: ProgressOptions): ProgressReporter {
  const tty = opts.stream.isTTY === true;
  return {
    start(label, total, unit) {
      const started = performance.now();
      const bar = new SingleBar({
        stream: opts.stream,
        format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {detail}`,
        barsize: 24,
        hideCursor: tty ? true : null,
        noTTYOutput: !tty,
        notTTYSchedule: opts.plainEveryMs ?? 5_000,
        // ETA over the last 50 updates, so a step whose pace changes (marts after ingest) settles soon.
        etaBuffer: 50,
      });
      bar.start(Math.max(total, 0), 0, { rate: '0', detail: '' });
      let stopped = false;
      return {
        update(done, newTotal, detail) {
          if (stopped) return;
          if (newTotal !== undefined) bar.setTotal(newTotal);
          const seconds = (performance.now() - started) / 1000;
          bar.update(done, { rate: perSecond(seconds > 0 ? done / seconds : 0), detail: detail ?? '' });
        },
        stop() {
          if (stopped) return;
          stopped = true;
          bar.stop();
        },
      };
    },
  };
}

/** The mart build's progress (runCycle's onWindow): one step of the run's windows, named by the mart being built. */
export function martBuildProgress(reporter: ProgressReporter, label = 'building marts'): { onWindow: (p: { done: number; total: number; mart: string }) => void; stop(): void } {
  let step: ProgressStep | undefined;
  return {
    onWindow(p) {
      step ??= reporter.start(label, p.total, 'windows');
      step.update(p.done, p.total, p.mart);
      if (p.done === p.total) step.stop();
    },
    stop: () => step?.stop(),
  };
}
