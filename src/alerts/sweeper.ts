import { SerialQueue, every } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import type { Database } from "../store/database.js";
import type { AnomalySweep } from "./anomaly-sweep.js";
import type { PolicySweep } from "./policy-sweep.js";

/** Delivered/failed messages and delivery log entries are kept this long. */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** What one sweep did. */
export interface SweepStats {
  policyAlerts: number;
  enforced: number;
  anomalies: number;
  pruned: number;
}

/**
 * The periodic sweep on the injected clock: rotation policy (expiring, rotation due and its
 * enforcement, stale) and usage anomalies, then pruning of old delivery records. A timer calls
 * `runOnce`; tests call it after moving a ManualClock. Runs are serialised; one failing part
 * does not stop the others, and the first error is rethrown after all ran.
 */
export class AlertSweeper {
  private readonly queue = new SerialQueue();
  private stopTimer: (() => void) | undefined;
  /** When old delivery records were last pruned (0: not yet in this process). */
  private prunedAt = 0;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    /** The rotation policy rules (exposed for diagnostics: `policy.backlog(now)`). */
    readonly policy: PolicySweep,
    private readonly anomaly: AnomalySweep,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.stopTimer = every(intervalMs, () => void this.runOnce().catch((err: unknown) => this.onError(err)));
  }

  async stop(): Promise<void> {
    this.stopTimer?.();
    await this.queue.idle();
  }

  runOnce(): Promise<SweepStats> {
    return this.queue.run(() => this.sweep());
  }

  private async sweep(): Promise<SweepStats> {
    const now = this.clock.now();
    const stats: SweepStats = { policyAlerts: 0, enforced: 0, anomalies: 0, pruned: 0 };
    const errors: unknown[] = [];
    const part = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    await part(async () => {
      const r = await this.policy.run(now);
      stats.policyAlerts = r.alerts;
      stats.enforced = r.enforced;
    });
    await part(async () => {
      stats.anomalies = await this.anomaly.run(now);
    });
    await part(async () => {
      stats.pruned = await this.prune(now);
    });
    if (errors.length) throw errors[0];
    return stats;
  }

  /** Old delivery records go; pending messages and alert events (the dedupe memory) stay. */
  private async prune(now: number): Promise<number> {
    // A DELETE takes SQLite's write lock even when it matches nothing, and the main thread
    // would wait on the usage writer thread for it: once an hour is plenty for 30-day retention.
    if (now - this.prunedAt < PRUNE_EVERY_MS) return 0;
    this.prunedAt = now;
    const cutoff = now - DELIVERY_RETENTION_MS;
    const log = await this.store.db
      .deleteFrom("webhook_deliveries")
      .where("attempted_at", "<", cutoff)
      .executeTakeFirst();
    const done = await this.store.db
      .deleteFrom("webhook_outbox")
      .where("status", "in", ["delivered", "failed"])
      .where("created_at", "<", cutoff)
      .executeTakeFirst();
    return Number(log.numDeletedRows) + Number(done.numDeletedRows);
  }
}
