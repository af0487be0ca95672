import type { Kysely } from "kysely";
import type { DB } from "../store/schema.js";
import type { UsageRecorder } from "../usage/recorder.js";
import type { SpendLoader } from "./limiter.js";

/**
 * Spend of a key or project in a period: what the store holds plus what the recorder has
 * accepted but not yet written (read first, so an in-between commit is over- not under-counted).
 */
export function storeSpendLoader(db: Kysely<DB>, recorder: UsageRecorder): SpendLoader {
  return async (scope, id, start, end) => {
    const pending = recorder.pendingCost(
      (e) => (scope === "key" ? e.keyId === id : e.projectId === id) && e.ts >= start && e.ts < end,
    );
    let q = db
      .selectFrom("usage_events")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_micros"), eb.lit(0)).as("spent"))
      .where("ts", ">=", start);
    if (Number.isFinite(end)) q = q.where("ts", "<", end);
    q = scope === "key" ? q.where("key_id", "=", id) : q.where("project_id", "=", id);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.spent) + pending;
  };
}
