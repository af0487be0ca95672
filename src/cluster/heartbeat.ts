import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Clock } from "../core/clock.js";
import { errorSummary, type Logger } from "../log/logger.js";
import type { Database } from "../store/database.js";

/** How often a serving process says it is alive; a replica unseen for 3 beats is gone. */
export const HEARTBEAT_MS = 10_000;
const GONE_AFTER_MS = 3 * HEARTBEAT_MS;

/** Another process serving from the same store. */
export interface PeerReplica {
  host: string;
  pid: number;
  started_at: number;
}

/**
 * Announces this serving process in the store and notices the others. Budgets are shared
 * through the store; rate and concurrency limits only through Redis. Without Redis, what is
 * still counted per process is said out loud the first time each peer is seen — never left for
 * the team to discover in an overshoot. With Redis nothing is per process: an info line only.
 */
export class ReplicaHeartbeat {
  private readonly id = randomUUID();
  private readonly known = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Rate and concurrency limits are shared (Redis configured). */
    private readonly sharedRateLimits: boolean,
  ) {}

  /** Registers this process, reports peers, and beats every HEARTBEAT_MS until `stop`. */
  async start(): Promise<void> {
    const now = this.clock.now();
    await this.store.db
      .insertInto("replicas")
      .values({ id: this.id, host: hostname(), pid: process.pid, started_at: now, seen_at: now })
      .execute();
    await this.reportPeers(now);
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** The other live processes on this store. */
  async peers(now = this.clock.now()): Promise<PeerReplica[]> {
    return this.store.db
      .selectFrom("replicas")
      .select(["host", "pid", "started_at"])
      .where("id", "!=", this.id)
      .where("seen_at", ">", now - GONE_AFTER_MS)
      .execute();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.store.db
      .deleteFrom("replicas")
      .where("id", "=", this.id)
      .execute()
      .catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const now = this.clock.now();
    try {
      await this.store.db.updateTable("replicas").set({ seen_at: now }).where("id", "=", this.id).execute();
      // Rows of processes that died without saying goodbye (kill -9) go after a day.
      await this.store.db
        .deleteFrom("replicas")
        .where("seen_at", "<", now - 86_400_000)
        .execute();
      await this.reportPeers(now);
    } catch (err) {
      this.logger.warn({ err: errorSummary(err) }, "replica heartbeat failed; will retry");
    }
  }

  private async reportPeers(now: number): Promise<void> {
    for (const p of await this.peers(now)) {
      const name = `${p.host}:${p.pid}@${p.started_at}`;
      if (this.known.has(name)) continue;
      this.known.add(name);
      const peer = { peer: { host: p.host, pid: p.pid } };
      if (this.sharedRateLimits)
        this.logger.info(
          peer,
          "another keyward process serves from this store: key changes, rate limits, concurrency limits " +
            "and budgets are shared with it",
        );
      else
        this.logger.warn(
          peer,
          "another keyward process serves from this store: revocations, key changes and budgets are shared, " +
            "but rate limits and concurrency limits are counted per replica without KEYWARD_REDIS_URL " +
            "(see docs/operations.md#replicas)",
        );
    }
  }
}
