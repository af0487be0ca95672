import type { Database } from "../store/database.js";
import { detectAnomaly, hourlyWindows, slidingHour, type Activity, type AnomalySettings } from "./anomaly.js";
import { recordAlerts } from "./record.js";
import type { AlertEvent } from "./types.js";

const HOUR_MS = 3_600_000;
/** Keys per IN (…) list. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** PostgreSQL returns bigint sums as strings; SQLite as numbers; no rows as null. */
const activity = (requests: unknown, cost: unknown): Activity => ({
  requests: Number(requests ?? 0),
  costMicros: Number(cost ?? 0),
});

/** The dedupe key of a key's anomaly alert: once per key per clock hour. */
export function anomalyDedupeKey(keyId: string, now: number): string {
  return `usage.anomaly:${keyId}:${Math.floor(now / HOUR_MS) * HOUR_MS}`;
}

/**
 * The usage anomaly sweep: gathers, for every key used in the last hour, its activity, its
 * trailing 7-day baseline and the IPs it was never used from before, and lets the pure
 * `detectAnomaly` decide. It runs on the main thread, where every synchronous SQLite query
 * stalls the gateway, so it reads only summaries the usage writer keeps in the same
 * transaction as the raw events: the hourly per-key rollups (the last hour is estimated from
 * two buckets, `slidingHour`; the baseline is whole buckets) and `key_ips` (first time each key
 * was seen from each IP). Its cost grows with the active keys, their models and their IPs,
 * never with the number of requests.
 */
export class AnomalySweep {
  constructor(
    private readonly store: Database,
    private readonly settings: AnomalySettings,
  ) {}

  async run(now: number): Promise<number> {
    const w = hourlyWindows(now);
    const windowStart = now - HOUR_MS;
    const db = this.store.db;
    // A key's rows in the two buckets, summed over projects and models: a range of the
    // primary key (bucket_start first).
    const buckets = await db
      .selectFrom("usage_key_hourly")
      .select((eb) => [
        "key_id",
        "bucket_start",
        eb.fn.sum<number>("requests").as("requests"),
        eb.fn.sum<number>("cost_micros").as("cost"),
      ])
      .where("bucket_start", ">=", w.previous)
      .where("bucket_start", "<=", w.current)
      .groupBy(["key_id", "bucket_start"])
      .execute();
    const zero: Activity = { requests: 0, costMicros: 0 };
    const hours = new Map<string, { current: Activity; previous: Activity }>();
    for (const b of buckets) {
      const h = hours.get(b.key_id) ?? { current: zero, previous: zero };
      if (Number(b.bucket_start) === w.current) h.current = activity(b.requests, b.cost);
      else h.previous = activity(b.requests, b.cost);
      hours.set(b.key_id, h);
    }
    if (hours.size === 0) return 0;

    // Keys already alerted this hour are done until the next hour.
    const candidates = new Map(
      [...hours].map(([id, h]) => [id, slidingHour(h.current, h.previous, w.previousWeight)]),
    );
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
    // Only keys above a noise floor can be anomalous by rate or spend: only they need a baseline.
    const loud = new Set(
      ids.filter((id) => {
        const r = candidates.get(id)!;
        return r.requests >= this.settings.minRequests || r.costMicros >= this.settings.minCostMicros;
      }),
    );
    const keys = new Map<string, { project_id: string; name: string; hint: string; created_at: number }>();
    const newIps = new Map<string, string[]>();
    const withHistory = new Set<string>();
    const baselines = new Map<string, Activity>();
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
    for (const part of chunks([...loud])) {
      // Through the (key_id, bucket_start) index: at most 168 buckets × models per key.
      for (const r of await db
        .selectFrom("usage_key_hourly")
        .select((eb) => [
          "key_id",
          eb.fn.sum<number>("requests").as("requests"),
          eb.fn.sum<number>("cost_micros").as("cost"),
        ])
        .where("key_id", "in", part)
        .where("bucket_start", ">=", w.baselineStart)
        .where("bucket_start", "<", w.previous)
        .groupBy("key_id")
        .execute())
        baselines.set(r.key_id, activity(r.requests, r.cost));
    }

    const alerts: AlertEvent[] = [];
    for (const id of ids) {
      const key = keys.get(id);
      if (!key) continue; // deleted since
      // The baseline ends where the previous hour's bucket starts. A key younger than 7 days
      // counts its hours from its creation, not from its first bucket's start (it could not be
      // used before), so the hourly average stays a true rate.
      const from = Math.max(w.baselineStart, key.created_at);
      const finding = detectAnomaly(
        {
          recent: candidates.get(id)!,
          baseline: baselines.get(id) ?? zero,
          baselineHours: loud.has(id) ? Math.max(0, (w.previous - from) / HOUR_MS) : 0,
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
}
