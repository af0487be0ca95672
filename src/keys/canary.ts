import { appendAudit } from "../audit/append.js";
import type { Actor } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import type { Database } from "../store/database.js";
import type { CachedKey } from "./cache.js";

/** Where and how a canary key was presented (never the key itself). */
export interface CanaryUse {
  ip: string | null;
  userAgent: string | null;
  /** The gateway endpoint (e.g. `chat_completions`) or `verify`. */
  endpoint: string;
}

/** One audit entry per key per this window at most: a flood of hits cannot flood the log. */
const WINDOW_MS = 60_000;
/** Bound on the per-key throttle map. */
const MAX_TRACKED = 10_000;

/**
 * The canary tripwire: records a use of a canary key as a `key.canary_used` audit entry (actor
 * `canary`, with the caller's IP and user agent). The audit tailer forwards it as the
 * `key.canary_used` alert, so each recorded use is alerted exactly once, durably.
 *
 * Only canary hits write: the normal verify path never calls this. `record` never blocks the
 * caller's response and never throws; uses within a minute of the last recorded one for the
 * same key are counted and reported with the next entry (`suppressed_uses`).
 */
export class CanaryTripwire {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Records one use of a canary key (asynchronously). */
  record(key: CachedKey, use: CanaryUse): void {
    const now = this.clock.now();
    const seen = this.last.get(key.keyId);
    if (seen && now - seen.at < WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    if (this.last.size >= MAX_TRACKED) this.last.delete(this.last.keys().next().value!);
    this.last.set(key.keyId, { at: now, suppressed: 0 });
    const write = this.write(key, use, suppressed, now).catch(this.onError);
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Resolves once every recorded use is written (shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async write(key: CachedKey, use: CanaryUse, suppressed: number, now: number): Promise<void> {
    const actor: Actor = { id: "canary", role: null, ip: use.ip, userAgent: use.userAgent };
    await this.store.db.transaction().execute((tx) =>
      appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.canary_used",
          targetType: "key",
          targetId: key.keyId,
          projectId: key.projectId,
          changes: {
            key_name: key.name,
            source_ip: use.ip,
            user_agent: use.userAgent,
            endpoint: use.endpoint,
            suppressed_uses: suppressed,
          },
        },
        now,
      ),
    );
  }
}
