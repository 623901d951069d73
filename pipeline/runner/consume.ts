// The runner loop: wires a bus subscription to the ingest stage, the local runtime's counterpart of
// a Pub/Sub push subscription with a retry policy and a dead-letter topic. A message is acked only
// after the stage resolved (its sink write committed). A failure is retried with exponential
// backoff; once a message has used its attempts (default 5), every entry is written as
// `processing_failed` through the sink and the message is acked, so no entry is ever dropped.
import type { StageHooks } from '../ingest/stage.js';
import type { Clock, InboundMessage, IngestWrite, Logger, RawSink } from '../ports.js';
import { systemClock } from '../ports.js';

/** What the runner needs from a bus (the local bus implements it). */
export interface ConsumableBus {
  /** Up to `max` messages, stopping before one that would take the batch past `maxEntries` entries. */
  receive(max: number, maxEntries?: number): Promise<InboundMessage[]>;
  ack(id: string): Promise<void>;
  nack(id: string, opts?: { delayMs?: number }): void;
  /** Unacked messages, leased or not. */
  pendingCount(): number;
  /** 0 if a message is available now, ms until one is, or undefined if all pending are leased. */
  nextAvailableInMs(): number | undefined;
  /** Resolves when something was published or given back, or after timeoutMs. */
  waitForWork(timeoutMs: number): Promise<void>;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, multiplier: 2 };
/**
 * The delivery attempt after which a message still failing is rejected as processing_failed: the
 * pipeline's one retry threshold. The local runner, the speed layer's give-up rule and the gcp
 * configuration's default (the push subscriptions' dead-letter policy) all take it from here.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface RunnerOptions<R = unknown> {
  bus: ConsumableBus;
  /**
   * Processes one message and writes its outcome through the sink; throws on transient failure. A
   * stage that calls `hooks.ordered` once its dedupe claims are queued lets the next batch start while
   * this one finishes (see stepAlone); one that never calls it is ordered when it settles.
   */
  stage: (msg: InboundMessage, hooks: StageHooks) => Promise<R>;
  sink: RawSink;
  /** Every entry of a message rejected as `processing_failed` (pipeline/ingest/stage.ts). */
  processingFailedWrite: (msg: InboundMessage, error: unknown, now: Date) => IngestWrite;
  clock?: Clock;
  /** Delivery attempts before a message's entries become `processing_failed`. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Messages leased per receive (default 256). */
  batchSize?: number;
  /**
   * Entries leased per receive (default 16,384; a first message larger than this is taken alone): big
   * batches share one dedupe transaction, one raw-sink transaction and one ack commit among many small
   * messages, and the bound keeps a batch of big messages within memory.
   */
  batchEntries?: number;
  /**
   * Handle a batch's messages concurrently (default true). The stage must take its dedupe claim
   * after the same awaits for every message, so claims arrive in publish order; set false for a
   * stage that does not.
   */
  concurrent?: boolean;
  logger?: Logger;
  /** Called after each message is acked with the stage's result, or with the failure write. */
  onDone?: (msg: InboundMessage, outcome: { kind: 'processed'; result: R } | { kind: 'failed'; write: IngestWrite; error: unknown }) => void;
}

export interface RunnerStats {
  /** Messages the stage processed and the runner acked. */
  processed: number;
  /** Failed attempts given back to the bus for a retry. */
  retried: number;
  /** Messages whose entries were written as processing_failed. */
  failed: number;
}

export interface Runner {
  /** Processes until the bus has nothing left (used by `start --once` and `ingest`). */
  drain(): Promise<RunnerStats>;
  /** Processes as messages arrive until the signal aborts; resolves after the message in hand. */
  run(signal: AbortSignal): Promise<RunnerStats>;
  readonly stats: Readonly<RunnerStats>;
}

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  return Math.min(opts.maxMs, opts.initialMs * opts.multiplier ** Math.max(0, attempt - 1));
}

export function createRunner<R>(opts: RunnerOptions<R>): Runner {
  const clock = opts.clock ?? systemClock;
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const batchSize = opts.batchSize ?? 256;
  const batchEntries = opts.batchEntries ?? 16_384;
  const concurrent = opts.concurrent ?? true;
  const stats: RunnerStats = { processed: 0, retried: 0, failed: 0 };
  const { bus } = opts;

  /**
   * Acks are not awaited one by one: the outcome is already committed, so a lost ack only means an
   * idempotent redelivery, and acks issued together share one bus commit. A batch's acks are awaited
   * at the end of the next batch (the messages stay leased until then, so none is delivered twice),
   * so the ack commit overlaps the next batch's work; drain and run await the last ones.
   */
  const acks: Promise<void>[] = [];
  let acking: Promise<unknown> = Promise.resolve();
  function ack(msg: InboundMessage): Promise<void> {
    return bus.ack(msg.id).catch((err: unknown) => {
      opts.logger?.warn({ message_id: msg.id, err: String(err) }, 'ack failed; the message will be processed again');
      bus.nack(msg.id);
    });
  }

  async function fail(msg: InboundMessage, error: unknown): Promise<void> {
    const write = opts.processingFailedWrite(msg, error, clock.now());
    try {
      await opts.sink.write(write);
    } catch (err) {
      // Not even the rejection could be written: keep the message and try again later.
      opts.logger?.error({ message_id: msg.id, err: String(err) }, 'writing processing_failed rows failed; will retry');
      bus.nack(msg.id, { delayMs: backoff.maxMs });
      stats.retried++;
      return;
    }
    acks.push(ack(msg));
    stats.failed++;
    opts.onDone?.(msg, { kind: 'failed', write, error });
  }

  async function handle(msg: InboundMessage, hooks: StageHooks = {}): Promise<void> {
    if (msg.deliveryAttempt > maxAttempts) {
      // Attempts were used up without a recorded failure: the process died while handling it.
      hooks.ordered?.();
      await fail(msg, new Error(`no outcome after ${maxAttempts} delivery attempts (the process stopped while handling the message)`));
      return;
    }
    let result: R;
    try {
      result = await opts.stage(msg, hooks);
    } catch (err) {
      if (msg.deliveryAttempt >= maxAttempts) {
        await fail(msg, err);
      } else {
        const delayMs = backoffDelay(msg.deliveryAttempt, backoff);
        opts.logger?.warn({ message_id: msg.id, attempt: msg.deliveryAttempt, retry_in_ms: delayMs, err: String(err) }, 'message failed; will retry');
        bus.nack(msg.id, { delayMs });
        stats.retried++;
      }
      return;
    }
    acks.push(ack(msg));
    stats.processed++;
    opts.onDone?.(msg, { kind: 'processed', result });
  }

  /**
   * One batch started at a time, whoever asks (a `run` loop and a `drain` can be active together, as
   * when a running `tillstream start` ingests a file): batches started in turn keep every dedupe claim
   * in publish order, so the copy received first wins.
   */
  let turn: Promise<unknown> = Promise.resolve();
  function step(): Promise<boolean> {
    const next = turn.then(stepAlone, stepAlone);
    turn = next.catch(() => undefined);
    return next;
  }

  /**
   * The batch still finishing while the next one starts. A batch's JS work (parsing, validating,
   * building rows and partials) then runs while the one before it waits on the warehouse's and the
   * series store's commits, instead of the thread idling through them; two batches at most are held.
   */
  let finishing: Promise<void> = Promise.resolve();

  /**
   * Starts one batch and returns once every message of it has queued its dedupe claims (or settled)
   * and the batch before it has finished; false when nothing could be received.
   */
  async function stepAlone(): Promise<boolean> {
    const msgs = await bus.receive(batchSize, batchEntries);
    if (msgs.length === 0) {
      await finishing;
      return false;
    }
    let handled: Promise<unknown>;
    if (concurrent) {
      // A batch at once, started in publish order: each stage reaches its dedupe claim in that order
      // (the copy received first still wins), and the warehouse group-commits the batch's claims and writes.
      // A message is ordered when its stage says so or, at the latest, when it settles.
      const started: Promise<void>[] = [];
      const ordered = msgs.map((msg) => new Promise<void>((resolve) => started.push(handle(msg, { ordered: resolve }).finally(resolve))));
      handled = Promise.all(started);
      await Promise.all(ordered);
    } else {
      handled = (async () => {
        for (const msg of msgs) await handle(msg);
      })();
      await handled;
    }
    const before = finishing;
    finishing = handled.then(async () => {
      await before;
      // This batch's acks are committed while the next batch works, and awaited at the end of the one after.
      const issued = Promise.all(acks.splice(0));
      await acking;
      acking = issued;
    });
    finishing.catch(() => undefined); // awaited by the next step or by settled(); not unhandled meanwhile
    await before;
    return true;
  }

  async function settled(): Promise<void> {
    await finishing;
    await acking;
  }

  return {
    stats,
    async drain() {
      for (;;) {
        if (await step()) continue;
        await settled();
        const wait = bus.nextAvailableInMs();
        if (wait === undefined) {
          if (bus.pendingCount() === 0) return { ...stats };
          await bus.waitForWork(50); // leased by another consumer: wait for it to ack or give back
        } else if (wait > 0) {
          await bus.waitForWork(wait);
        }
      }
    },
    async run(signal) {
      const stopped = aborted(signal);
      while (!signal.aborted) {
        if (await step()) continue;
        await settled();
        const wait = bus.nextAvailableInMs();
        await Promise.race([bus.waitForWork(wait === undefined || wait === 0 ? 1000 : wait), stopped]);
      }
      await settled();
      return { ...stats };
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
