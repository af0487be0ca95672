import { sql, type ExpressionBuilder, type SqlBool, type Expression } from "kysely";
import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { DAY_MS, policyFromColumns } from "../core/rotation-policy.js";
import type { Database } from "../store/database.js";
import type { DB } from "../store/schema.js";
import {
  EXPIRY_WARNING_DAYS,
  expiringAlert,
  rotationDecision,
  staleAlert,
  type SweptKey,
} from "./key-alerts.js";
import { recordAlerts } from "./record.js";
import type { AlertEvent } from "./types.js";

/** Keys examined per rule per sweep; the rest follow on the next sweep (alerted ones drop out). */
const LIMIT = 5000;

/** What one policy sweep did. */
export interface PolicySweepStats {
  alerts: number;
  enforced: number;
}

type Eb = ExpressionBuilder<DB, "api_keys" | "projects">;

const KEY_COLUMNS = [
  "api_keys.id",
  "api_keys.project_id",
  "api_keys.name",
  "api_keys.hint",
  "api_keys.status",
  "api_keys.created_at",
  "api_keys.rotated_at",
  "api_keys.last_used_at",
  "api_keys.expires_at",
  "projects.rotation_max_age_days",
  "projects.rotation_enforce",
  "projects.stale_after_days",
] as const;

/** "No alert with this dedupe key yet": keeps already-alerted keys out of every later sweep. */
function notAlerted(eb: Eb, dedupeKey: Expression<string>): Expression<SqlBool> {
  return eb.not(
    eb.exists(
      eb
        .selectFrom("alert_events")
        .select(sql<number>`1`.as("one"))
        .where("alert_events.dedupe_key", "=", dedupeKey),
    ),
  );
}

// SQL twins of the deadlines in core/rotation-policy.ts. Casts keep PostgreSQL in bigint; the
// literal (not a parameter, which better-sqlite3 binds as REAL) keeps SQLite in integers, so the
// dedupe keys built from these values read exactly like the ones built in JavaScript.
const deadlineSql = sql<number>`(coalesce(api_keys.rotated_at, api_keys.created_at) + cast(projects.rotation_max_age_days as bigint) * ${sql.lit(DAY_MS)})`;
const activitySql = sql<number>`coalesce(api_keys.last_used_at, api_keys.created_at)`;

/**
 * The rotation policy sweep: `key.expiring`, `key.rotation_due` (+ expiry by policy where the
 * project enforces it) and `key.stale`. Candidates come from SQL; what to do with each is
 * decided by the pure functions in key-alerts.ts; writes are guarded and atomic.
 */
export class PolicySweep {
  constructor(
    private readonly store: Database,
    /** Drops a key from this process's verify cache after its expiry changed. */
    private readonly invalidateKey: (keyId: string) => void,
  ) {}

  async run(now: number): Promise<PolicySweepStats> {
    const alerts: AlertEvent[] = [];
    let enforced = 0;
    for (const k of await this.expiringCandidates(now)) {
      const a = expiringAlert(k, now);
      if (a) alerts.push(a);
    }
    for (const { key, policy } of await this.rotationCandidates(now)) {
      const d = rotationDecision(key, policy, now);
      if (d.expireAt !== null && d.alert) {
        if (await this.enforce(key, d.expireAt, d.alert, policy.maxAgeDays, now)) enforced++;
      } else if (d.alert) alerts.push(d.alert);
    }
    for (const { key, policy } of await this.staleCandidates(now)) {
      const a = staleAlert(key, policy, now);
      if (a) alerts.push(a);
    }
    const recorded = alerts.length
      ? await this.store.db.transaction().execute((tx) => recordAlerts(tx, alerts, now))
      : [];
    return { alerts: recorded.length + enforced, enforced };
  }

  /**
   * How many keys each rule would look at now. Alerted keys drop out in SQL (their dedupe keys
   * are rebuilt there), so after a sweep this is what is left to do — zero in a steady state.
   */
  async backlog(now: number): Promise<{ expiring: number; rotation: number; stale: number }> {
    return {
      expiring: (await this.expiringCandidates(now)).length,
      rotation: (await this.rotationCandidates(now)).length,
      stale: (await this.staleCandidates(now)).length,
    };
  }

  private base() {
    return this.store.db
      .selectFrom("api_keys")
      .innerJoin("projects", "projects.id", "api_keys.project_id")
      .select(KEY_COLUMNS);
  }

  /** Active keys inside a warning window whose most urgent warning has not fired yet. */
  private async expiringCandidates(now: number): Promise<SweptKey[]> {
    const [week, day] = [EXPIRY_WARNING_DAYS[0] * DAY_MS, EXPIRY_WARNING_DAYS[1] * DAY_MS];
    const warned = (d: number) =>
      sql<string>`'key.expiring:' || api_keys.id || ':' || ${`${d}d:`} || api_keys.expires_at`;
    return (
      this.base()
        .where("api_keys.status", "=", "active")
        .where("api_keys.expires_at", ">", now)
        .where("api_keys.expires_at", "<=", now + week)
        // Keys living less than a day by design are never warned about.
        .where(sql<SqlBool>`api_keys.created_at < api_keys.expires_at - ${day}`)
        .where((eb) => notAlerted(eb, warned(1)))
        .where((eb) =>
          eb.or([
            eb("api_keys.expires_at", "<=", now + day),
            eb.and([
              sql<SqlBool>`api_keys.created_at < api_keys.expires_at - ${week}`,
              notAlerted(eb, warned(7)),
            ]),
          ]),
        )
        .limit(LIMIT)
        .execute()
    );
  }

  /** Unexpired keys past their deadline: not alerted yet, or in a project that enforces. */
  private async rotationCandidates(now: number) {
    const rows = await this.base()
      .where("api_keys.status", "!=", "revoked")
      .where((eb) => eb.or([eb("api_keys.expires_at", "is", null), eb("api_keys.expires_at", ">", now)]))
      .where("projects.rotation_max_age_days", "is not", null)
      .where(sql<SqlBool>`${deadlineSql} <= ${now}`)
      .where((eb) =>
        eb.or([
          eb("projects.rotation_enforce", "=", 1),
          notAlerted(eb, sql<string>`'key.rotation_due:' || api_keys.id || ':' || ${deadlineSql}`),
        ]),
      )
      .limit(LIMIT)
      .execute();
    return rows.map((r) => ({ key: r, policy: policyFromColumns(r) }));
  }

  /** Active keys idle past the project's stale_after_days, not alerted for this idle spell. */
  private async staleCandidates(now: number) {
    const rows = await this.base()
      .where("api_keys.status", "=", "active")
      .where((eb) => eb.or([eb("api_keys.expires_at", "is", null), eb("api_keys.expires_at", ">", now)]))
      .where("projects.stale_after_days", "is not", null)
      .where(
        sql<SqlBool>`${activitySql} <= cast(${now} as bigint) - cast(projects.stale_after_days as bigint) * ${sql.lit(DAY_MS)}`,
      )
      .where((eb) => notAlerted(eb, sql<string>`'key.stale:' || api_keys.id || ':' || ${activitySql}`))
      .limit(LIMIT)
      .execute();
    return rows.map((r) => ({ key: r, policy: policyFromColumns(r) }));
  }

  /**
   * Expires a key at its rotation deadline, with its audit entry (actor `system`) and alert in
   * one transaction. Rule: only a key that is not revoked, still has the deadline this sweep
   * computed (not rotated meanwhile) and does not already expire by then is changed; expiry is
   * only ever brought forward. Returns whether it was.
   */
  private async enforce(
    k: SweptKey,
    deadline: number,
    alert: AlertEvent,
    maxAgeDays: number | null,
    now: number,
  ): Promise<boolean> {
    const changed = await this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable("api_keys")
        .set({ expires_at: deadline, updated_at: now })
        .where("id", "=", k.id)
        .where("status", "!=", "revoked")
        .where((eb) => eb(eb.fn.coalesce("rotated_at", "created_at"), "=", k.rotated_at ?? k.created_at))
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", deadline)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await appendAudit(
        tx,
        this.store.dialect,
        SYSTEM_ACTOR,
        {
          action: "key.rotation_enforced",
          targetType: "key",
          targetId: k.id,
          projectId: k.project_id,
          changes: {
            before: { expires_at: k.expires_at === null ? null : new Date(k.expires_at).toISOString() },
            after: { expires_at: new Date(deadline).toISOString() },
            reason: `not rotated within the project's ${maxAgeDays ?? "?"}-day maximum key age`,
          },
        },
        now,
      );
      await recordAlerts(tx, [alert], now);
      return true;
    });
    if (changed) this.invalidateKey(k.id);
    return changed;
  }
}
