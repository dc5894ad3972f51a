/**
 * Coalesces concurrent requests for the same kind of statement into one statement over many
 * rows, the way a database's group commit coalesces flushes. While fewer than `maxInFlight`
 * batches run, whatever arrived in the same turn of the event loop goes out at once, so a lone
 * request waits for nothing; under load, requests gather while the connections are busy and
 * each round trip, plan and commit then serves many of them.
 *
 * Each item still gets its own outcome. A batch that failed as a whole with an error that
 * certainly changed nothing (the statement was refused or rolled back) is run again item by
 * item, so one bad item cannot fail its neighbours; any other failure, such as a lost
 * connection, is handed to every item as it is, never retried.
 *
 * An item waits in the queue at most `maxWaitMs`, like a request waiting for a pooled
 * connection, and an item whose requester has gone (`submit`'s `gone`) is dropped before it
 * runs: a read nobody will receive must not take a view.
 */
export interface BatchRunner<I, O> {
  /** Runs several items in one statement; answers one result per item, in their order. */
  runMany(items: readonly I[]): Promise<O[]>;
  /** Runs one item on its own: a batch of one, or each item of a batch that failed as a whole. */
  runOne(item: I): Promise<O>;
  /** True when a failed batch left the database as it was, so that retrying is safe. */
  changedNothing(err: unknown): boolean;
  /** Items with the same key never share a batch (two reads of one message, say). */
  key?: (item: I) => string;
  /** What an item weighs, e.g. its bytes; a batch stops before it passes `maxWeight`. */
  weight?: (item: I) => number;
  maxWeight?: number;
  maxItems: number;
  /** Batches running at once: the connections there are to run them on. */
  maxInFlight: number;
  /** How long an item may wait in the queue before it fails with BatchWaitTimeoutError. */
  maxWaitMs: number;
}

/** An item waited longer than `maxWaitMs` for a batch to take it: the database is too slow. */
export class BatchWaitTimeoutError extends Error {
  override name = 'BatchWaitTimeoutError';
  constructor() {
    super('Waited too long for the database');
  }
}

/** The requester went away before its item ran; the item was not run. */
export class BatchItemDroppedError extends Error {
  override name = 'BatchItemDroppedError';
  constructor() {
    super('The requester went away before the statement ran');
  }
}

interface Pending<I, O> {
  item: I;
  gone: (() => boolean) | undefined;
  timer: NodeJS.Timeout | undefined;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export interface Batcher<I, O> {
  /** Runs `item` in a batch; `gone` says whether its requester has left (then it is dropped). */
  submit(item: I, gone?: () => boolean): Promise<O>;
}

export function createBatcher<I, O>(runner: BatchRunner<I, O>): Batcher<I, O> {
  let queue: Pending<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;
  /** Keys of the items in running batches: a key runs in one batch at a time. */
  const busyKeys = new Set<string>();

  /** The next batch from the front of the queue; what it leaves out stays queued, in order. */
  function take(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    const keys = new Set<string>();
    let weight = 0;
    for (const pending of queue) {
      if (pending.gone?.() === true) {
        clearTimeout(pending.timer);
        pending.reject(new BatchItemDroppedError());
        continue;
      }
      const key = runner.key?.(pending.item);
      const w = runner.weight?.(pending.item) ?? 0;
      const full =
        batch.length >= runner.maxItems ||
        (batch.length > 0 && weight + w > (runner.maxWeight ?? Infinity));
      // Readers of one message wait for each other here rather than each hold a slot: one
      // row another transaction holds locked must not occupy every connection.
      if (full || (key !== undefined && (keys.has(key) || busyKeys.has(key)))) {
        rest.push(pending);
        continue;
      }
      if (key !== undefined) keys.add(key);
      weight += w;
      clearTimeout(pending.timer);
      batch.push(pending);
    }
    queue = rest;
    return batch;
  }

  async function run(batch: Pending<I, O>[]): Promise<void> {
    let results: O[];
    try {
      const [only] = batch;
      // A batch of one runs the single-item form: a quiet server runs what it always ran.
      results =
        batch.length === 1 && only !== undefined
          ? [await runner.runOne(only.item)]
          : await runner.runMany(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1 || !runner.changedNothing(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      await Promise.all(
        batch.map(async (p) => {
          // A requester that left while the batch ran is not served by the retry either.
          if (p.gone?.() === true) {
            p.reject(new BatchItemDroppedError());
            return;
          }
          await runner.runOne(p.item).then(p.resolve, p.reject);
        }),
      );
      return;
    }
    batch.forEach((p, i) => {
      // runMany answers one result per item; a short answer is a bug there, not a result.
      if (i < results.length) p.resolve(results[i] as O);
      else p.reject(new Error('batch answered fewer results than items'));
    });
  }

  function drain(): void {
    scheduled = false;
    while (inFlight < runner.maxInFlight && queue.length > 0) {
      const batch = take();
      if (batch.length === 0) break; // everything left had been given up
      inFlight += 1;
      const keys = runner.key === undefined ? [] : batch.map((p) => runner.key?.(p.item) ?? '');
      for (const key of keys) busyKeys.add(key);
      run(batch)
        .catch((err: unknown) => {
          // run() settles every item itself; this only keeps a bug from crashing the process.
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          inFlight -= 1;
          for (const key of keys) busyKeys.delete(key);
          drain();
        });
    }
  }

  return {
    submit(item, gone) {
      return new Promise<O>((resolve, reject) => {
        const pending: Pending<I, O> = { item, gone, timer: undefined, resolve, reject };
        pending.timer = setTimeout(() => {
          // Still queued (a taken item's timer is cleared): give up on it.
          queue = queue.filter((p) => p !== pending);
          reject(gone?.() === true ? new BatchItemDroppedError() : new BatchWaitTimeoutError());
        }, runner.maxWaitMs);
        queue.push(pending);
        if (!scheduled) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
  };
}

/**
 * PostgreSQL errors that mean the statement itself failed and was rolled back: bad data, a
 * constraint, a deadlock or serialization failure, a statement cancelled by its timeout, a
 * lock not obtained within lock_timeout.
 * Connection failures (no SQLSTATE, or class 08) and 40003 are not among them: the commit
 * may have happened.
 */
export function statementFailed(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return /^(22|23|42)/.test(code) || ['40001', '40P01', '55P03', '57014'].includes(code);
}
