import { SerialQueue } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import type { Database, Executor } from "../store/database.js";
import type { AuditLogTable } from "../store/schema.js";
import { LIFECYCLE_PREFIXES } from "./catalogue.js";
import { recordAlerts } from "./record.js";
import type { AlertEvent } from "./types.js";

const CURSOR = "audit_seq";
const PAGE = 500;
/** Pages per `runOnce`, so one call is bounded after a long outage. */
const MAX_PAGES = 20;

/** Whether an audit action is forwarded as a lifecycle alert. */
export function isLifecycleAction(action: string): boolean {
  return LIFECYCLE_PREFIXES.some((p) => action.startsWith(p));
}

/**
 * The alert for an audit entry: same type as the action, about its target, with who did it
 * and what changed (audit entries never hold a secret). The entry id is the dedupe key, so
 * re-reading an entry can never alert twice.
 */
export function lifecycleAlert(entry: AuditLogTable): AlertEvent {
  return {
    type: entry.action,
    subject: entry.target_id,
    projectId: entry.project_id,
    data: {
      audit_id: entry.id,
      audit_seq: entry.seq,
      actor_id: entry.actor_id,
      actor_role: entry.actor_role,
      target_type: entry.target_type,
      target_id: entry.target_id,
      ip: entry.ip,
      user_agent: entry.user_agent,
      changes: JSON.parse(entry.changes) as unknown,
    },
    dedupeKey: `audit:${entry.id}`,
    at: entry.ts,
  };
}

/**
 * Turns new audit entries into lifecycle alerts (key.created, key.revoked, admin_key.*, …).
 * Durable without touching the services that write the log: a persisted cursor (last seq)
 * advances in the same transaction that records the alerts, so an entry is neither skipped nor
 * announced twice across crashes and restarts. On PostgreSQL the cursor row is locked, so
 * replicas take turns. Audit entries become visible in seq order (appends serialise on the
 * chain head), so no entry can appear behind the cursor.
 */
export class AuditTailer {
  private readonly queue = new SerialQueue();

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly onRecorded: () => void = () => undefined,
  ) {}

  /** Forwards every entry appended since the last run; resolves to how many alerts were recorded. */
  runOnce(): Promise<number> {
    return this.queue.run(() => this.drain());
  }

  private async drain(): Promise<number> {
    // Checked with a plain read first: on SQLite a transaction here takes the write lock, which
    // the usage writer thread may be holding, and the wait would stall the event loop every tick.
    if (!(await this.behind())) return 0;
    let total = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { read, recorded } = await this.store.db.transaction().execute((tx) => this.step(tx));
      total += recorded;
      if (read < PAGE) break;
    }
    if (total > 0) this.onRecorded();
    return total;
  }

  /** Whether the audit log has entries past the cursor (a read; no transaction, no lock). */
  private async behind(): Promise<boolean> {
    const next = await this.store.db
      .selectFrom("audit_log")
      .select("seq")
      .where("seq", ">", (eb) => eb.selectFrom("alert_state").select("value").where("name", "=", CURSOR))
      .limit(1)
      .executeTakeFirst();
    return next !== undefined;
  }

  private async step(tx: Executor): Promise<{ read: number; recorded: number }> {
    const q = tx.selectFrom("alert_state").select("value").where("name", "=", CURSOR);
    const cursor = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirstOrThrow();
    const entries = await tx
      .selectFrom("audit_log")
      .selectAll()
      .where("seq", ">", cursor.value)
      .orderBy("seq")
      .limit(PAGE)
      .execute();
    if (entries.length === 0) return { read: 0, recorded: 0 };
    const events = entries.filter((e) => isLifecycleAction(e.action)).map(lifecycleAlert);
    const recorded = await recordAlerts(tx, events, this.clock.now());
    await tx
      .updateTable("alert_state")
      .set({ value: entries.at(-1)!.seq })
      .where("name", "=", CURSOR)
      .execute();
    return { read: entries.length, recorded: recorded.length };
  }
}
