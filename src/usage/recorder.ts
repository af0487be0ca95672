import { SerialQueue, every } from "../core/background.js";
import type { UsageBatchWriter } from "./batch-writer.js";
import type { UsageEvent } from "./types.js";

/**
 * Records usage events off the request path: `record()` only appends to memory; a timer writes
 * everything queued in one transaction every `flushMs`. Exactly once: request ids are the
 * primary key and a re-sent row is ignored; the hourly/daily rollups are updated in the same
 * transaction from the rows actually inserted. On a failed write the batch stays queued and is
 * retried. `close()` (graceful shutdown) writes everything left, so SIGTERM loses nothing; a
 * hard crash loses at most the events of the last `flushMs` — except events recorded with
 * `recordDurable`, whose caller waits for their commit before the client sees the answer.
 */
export class UsageRecorder {
  private queue: UsageEvent[] = [];
  /** The batch being written right now (not yet visible in the store, no longer queued). */
  private inFlight: UsageEvent[] = [];
  private stopTimer: (() => void) | undefined;
  private readonly writes = new SerialQueue();
  /** Callers of `recordDurable` waiting for their event's commit, by request id. */
  private readonly waiters = new Map<string, () => void>();
  private flushSoon = false;
  recorded = 0;

  constructor(
    private readonly writer: UsageBatchWriter,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopTimer = every(this.flushMs, () => void this.flush());
  }

  record(event: UsageEvent): void {
    this.queue.push(event);
  }

  /**
   * Records an event and resolves once it is committed, or after `maxWaitMs` if the store is
   * failing (the event stays queued and is retried; the caller must not hold its client
   * forever). A write starts at once rather than at the next tick of the timer: events that
   * arrive while one is being written go together in the next (group commit), so the wait is
   * about one transaction, and batches grow with load instead of the wait.
   */
  recordDurable(event: UsageEvent, maxWaitMs: number): Promise<void> {
    this.queue.push(event);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(event.requestId);
        resolve();
      }, maxWaitMs);
      this.waiters.set(event.requestId, () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.flushSoon) {
        this.flushSoon = true;
        setImmediate(() => {
          this.flushSoon = false;
          void this.flush();
        });
      }
    });
  }

  /** Events accepted but not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes what is queued; serialised, so batches never overlap. Never throws. */
  flush(): Promise<void> {
    return this.writes.run(() => this.write());
  }

  private async write(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = batch;
    try {
      await this.writer.write(batch);
      this.recorded += batch.length;
      if (this.waiters.size) for (const e of batch) this.committed(e.requestId);
    } catch (err) {
      this.queue = batch.concat(this.queue);
      this.onError(err);
    } finally {
      this.inFlight = [];
    }
  }

  private committed(requestId: string): void {
    const waiter = this.waiters.get(requestId);
    if (!waiter) return;
    this.waiters.delete(requestId);
    waiter();
  }

  /**
   * Cost (micro-dollars) of accepted events not yet committed to the store, matching `match`:
   * budget loads add this to what the store says, so nothing in transit is missed. (Read it
   * before querying the store: a batch committing in between is then counted twice, which
   * errs on the safe side.)
   */
  pendingCost(match: (e: UsageEvent) => boolean): number {
    let sum = 0;
    for (const e of this.inFlight) if (match(e)) sum += e.costMicros;
    for (const e of this.queue) if (match(e)) sum += e.costMicros;
    return sum;
  }

  async close(): Promise<void> {
    this.stopTimer?.();
    await this.flush();
    // One retry if the last write failed; after that the loss is reported, not hidden.
    if (this.queue.length) await this.flush();
    if (this.queue.length)
      this.onError(new Error(`${this.queue.length} usage events could not be written at shutdown`));
  }
}
