import type { Kysely } from "kysely";
import type { DB } from "../store/schema.js";
import { queryUsage } from "../usage/query.js";
import type { UsageRecorder } from "../usage/recorder.js";
import type { SpendLoader } from "./limiter.js";

/**
 * Spend of a key or project in a period: what the store holds (answered from the usage
 * rollups, so a month of a busy project is a few rows, not a scan) plus what the recorder has
 * accepted but not yet written (read first, so an in-between commit is over- not under-counted).
 */
export function storeSpendLoader(db: Kysely<DB>, recorder: UsageRecorder): SpendLoader {
  return async (scope, id, start, end) => {
    const pending = recorder.pendingCost(
      (e) => (scope === "key" ? e.keyId === id : e.projectId === id) && e.ts >= start && e.ts < end,
    );
    const rows = await queryUsage(db, {
      groupBy: scope,
      since: start,
      ...(Number.isFinite(end) ? { until: end } : {}),
      ...(scope === "key" ? { keyId: id } : { projectId: id }),
      limit: 1,
    });
    return (rows[0]?.cost_micros ?? 0) + pending;
  };
}
