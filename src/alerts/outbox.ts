import { SerialQueue, every } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import type { Database } from "../store/database.js";
import { recordAlerts } from "./record.js";
import type { AlertEvent, AlertSink } from "./types.js";

/** Events held in memory at most; beyond it new events are dropped and counted (store down for long). */
const MAX_QUEUED = 100_000;
/** Dedupe keys remembered in memory, so hot-path repeats (every refused request) cost one Set lookup. */
const RECENT_KEYS = 10_000;

/**
 * The AlertSink the rest of keyward emits into. `emit` only appends to memory (never blocks,
 * never throws); a timer records everything queued into the alert events table and the webhook
 * outbox in one transaction every `flushMs`. On a failed write the batch stays queued and is
 * retried. `close()` (graceful shutdown) writes what is left; a crash loses at most the last
 * `flushMs` of emitted alerts (the durable outbox starts at the write).
 */
export class AlertOutbox implements AlertSink {
  private queue: AlertEvent[] = [];
  private recent = new Set<string>();
  private stopTimer: (() => void) | undefined;
  private readonly writes = new SerialQueue();
  /** Events dropped because the queue was full. */
  dropped = 0;
  private reportedDropped = 0;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
    /** Called after new events were recorded (e.g. to wake the dispatcher). */
    private readonly onRecorded: () => void = () => undefined,
  ) {}

  start(): void {
    this.stopTimer = every(this.flushMs, () => void this.flush());
  }

  emit(event: AlertEvent): void {
    // Already queued or written: the store would drop it anyway.
    if (event.dedupeKey !== undefined && this.recent.has(event.dedupeKey)) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    if (event.dedupeKey !== undefined) this.remember(event.dedupeKey);
    this.queue.push(event);
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
    if (this.dropped > this.reportedDropped) {
      // Reported, not hidden: the store was unreachable for long enough to fill memory.
      this.onError(
        new Error(`${this.dropped - this.reportedDropped} alerts dropped: the alert queue was full`),
      );
      this.reportedDropped = this.dropped;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      const now = this.clock.now();
      const recorded = await this.store.db.transaction().execute((tx) => recordAlerts(tx, batch, now));
      if (recorded.length > 0) this.onRecorded();
    } catch (err) {
      this.queue = batch.concat(this.queue);
      this.onError(err);
    }
  }

  private remember(key: string): void {
    this.recent.add(key);
    // Sets iterate in insertion order: the first entry is the oldest.
    if (this.recent.size > RECENT_KEYS) this.recent.delete(this.recent.values().next().value!);
  }

  async close(): Promise<void> {
    this.stopTimer?.();
    await this.flush();
    if (this.queue.length) await this.flush();
    if (this.queue.length)
      this.onError(new Error(`${this.queue.length} alerts could not be written at shutdown`));
  }
}
