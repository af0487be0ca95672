import { sql } from "kysely";
import type { Database } from "../store/database.js";
import { BASELINE_HOURS, detectAnomaly, type AnomalySettings } from "./anomaly.js";
import { recordAlerts } from "./record.js";
import type { AlertEvent } from "./types.js";

const HOUR_MS = 3_600_000;
/** IP ingestion re-reads this much before its cursor, for usage rows written a little late. */
const INGEST_OVERLAP_MS = 10 * 60_000;
const IP_CURSOR = "usage_ip_ts";
/** Keys per IN (…) list. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The dedupe key of a key's anomaly alert: once per key per clock hour. */
export function anomalyDedupeKey(keyId: string, now: number): string {
  return `usage.anomaly:${keyId}:${Math.floor(now / HOUR_MS) * HOUR_MS}`;
}

/**
 * The usage anomaly sweep: gathers, for every key used in the last hour, its activity, its
 * trailing 7-day baseline and the IPs it was never used from before, and lets the pure
 * `detectAnomaly` decide. Reads `usage_events` through its (key_id, ts) and ts indexes, and
 * keeps `key_ips` (first time each key was seen from each IP) so "never seen" is one indexed
 * lookup, not a scan of the key's whole history.
 */
export class AnomalySweep {
  constructor(
    private readonly store: Database,
    private readonly settings: AnomalySettings,
  ) {}

  async run(now: number): Promise<number> {
    await this.ingestIps(now);
    const windowStart = now - HOUR_MS;
    const db = this.store.db;
    const recent = await db
      .selectFrom("usage_events")
      .select((eb) => [
        "key_id",
        eb.fn.countAll<number>().as("requests"),
        eb.fn.sum<number>("cost_micros").as("cost"),
      ])
      .where("ts", ">=", windowStart)
      .where("ts", "<", now)
      .groupBy("key_id")
      .execute();
    if (recent.length === 0) return 0;

    // Keys already alerted this hour are done until the next hour.
    const candidates = new Map(recent.map((r) => [r.key_id, r]));
    for (const ids of chunks([...candidates.keys()])) {
      const done = await db
        .selectFrom("alert_events")
        .select("dedupe_key")
        .where(
          "dedupe_key",
          "in",
          ids.map((id) => anomalyDedupeKey(id, now)),
        )
        .execute();
      for (const d of done) candidates.delete(d.dedupe_key!.split(":")[1]!);
    }
    if (candidates.size === 0) return 0;

    const ids = [...candidates.keys()];
    const keys = new Map<string, { project_id: string; name: string; hint: string; created_at: number }>();
    const newIps = new Map<string, string[]>();
    const withHistory = new Set<string>();
    for (const part of chunks(ids)) {
      for (const k of await db
        .selectFrom("api_keys")
        .select(["id", "project_id", "name", "hint", "created_at"])
        .where("id", "in", part)
        .execute())
        keys.set(k.id, k);
      for (const r of await db
        .selectFrom("key_ips")
        .select(["key_id", "ip"])
        .where("key_id", "in", part)
        .where("first_seen_at", ">=", windowStart)
        .where("first_seen_at", "<", now)
        .execute())
        newIps.set(r.key_id, [...(newIps.get(r.key_id) ?? []), r.ip]);
      const before = await db
        .selectFrom("key_ips")
        .select("key_id")
        .distinct()
        .where("key_id", "in", part)
        .where("first_seen_at", "<", windowStart)
        .execute();
      for (const r of before) withHistory.add(r.key_id);
    }

    const baselineStart = windowStart - BASELINE_HOURS * HOUR_MS;
    const alerts: AlertEvent[] = [];
    for (const id of ids) {
      const key = keys.get(id);
      if (!key) continue; // deleted since
      const r = candidates.get(id)!;
      const recentActivity = { requests: Number(r.requests), costMicros: Number(r.cost ?? 0) };
      // The baseline query is the costly part: only keys above a noise floor need it.
      const loud =
        recentActivity.requests >= this.settings.minRequests ||
        recentActivity.costMicros >= this.settings.minCostMicros;
      const baseline = loud
        ? await this.baseline(id, baselineStart, windowStart)
        : { requests: 0, costMicros: 0 };
      const from = Math.max(baselineStart, key.created_at);
      const finding = detectAnomaly(
        {
          recent: recentActivity,
          baseline,
          baselineHours: loud ? Math.max(0, (windowStart - from) / HOUR_MS) : 0,
          newIps: newIps.get(id) ?? [],
          hasHistory: withHistory.has(id),
        },
        this.settings,
      );
      if (!finding) continue;
      alerts.push({
        type: "usage.anomaly",
        subject: id,
        projectId: key.project_id,
        data: { key_id: id, key_name: key.name, masked_key: key.hint, ...finding },
        dedupeKey: anomalyDedupeKey(id, now),
        at: now,
      });
    }
    if (alerts.length === 0) return 0;
    return (await db.transaction().execute((tx) => recordAlerts(tx, alerts, now))).length;
  }

  private async baseline(keyId: string, from: number, to: number) {
    const r = await this.store.db
      .selectFrom("usage_events")
      .select((eb) => [eb.fn.countAll<number>().as("requests"), eb.fn.sum<number>("cost_micros").as("cost")])
      .where("key_id", "=", keyId)
      .where("ts", ">=", from)
      .where("ts", "<", to)
      .executeTakeFirst();
    return { requests: Number(r?.requests ?? 0), costMicros: Number(r?.cost ?? 0) };
  }

  /**
   * Adds the (key, IP) pairs of usage since the last run to `key_ips`, keeping the first time
   * each was seen. Idempotent (ON CONFLICT DO NOTHING), so the overlap re-read is harmless and
   * concurrent replicas agree.
   */
  private async ingestIps(now: number): Promise<void> {
    await this.store.db.transaction().execute(async (tx) => {
      const q = tx.selectFrom("alert_state").select("value").where("name", "=", IP_CURSOR);
      const cursor = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirstOrThrow();
      const from = Math.max(0, cursor.value - INGEST_OVERLAP_MS);
      // The WHERE clause also settles SQLite's parsing ambiguity of INSERT … SELECT … ON CONFLICT.
      await sql`
        insert into key_ips (key_id, ip, first_seen_at)
        select key_id, client_ip, min(ts) from usage_events
        where ts >= ${from} and ts < ${now} and client_ip is not null
        group by key_id, client_ip
        on conflict (key_id, ip) do nothing`.execute(tx);
      await tx
        .updateTable("alert_state")
        .set({ value: Math.max(cursor.value, now) })
        .where("name", "=", IP_CURSOR)
        .execute();
    });
  }
}
