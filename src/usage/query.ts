import { sql, type Kysely } from "kysely";
import type { DB } from "../store/schema.js";

export const USAGE_GROUPS = ["key", "project", "model", "day", "hour"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageFilter {
  groupBy: UsageGroup;
  since?: number;
  until?: number;
  keyId?: string;
  projectId?: string;
  model?: string;
  limit: number;
}

export interface UsageRow {
  group: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_micros: number;
  cost_usd: number;
}

const BUCKET_MS: Partial<Record<UsageGroup, number>> = { day: 86_400_000, hour: 3_600_000 };

/**
 * Requests, errors (status ≥ 400), tokens and cost, grouped by key, project, model, UTC day or
 * UTC hour. Time buckets are integer arithmetic on epoch milliseconds, the same in both dialects.
 */
export async function queryUsage(db: Kysely<DB>, f: UsageFilter): Promise<UsageRow[]> {
  const bucket = BUCKET_MS[f.groupBy];
  const groupExpr =
    bucket !== undefined
      ? sql<string>`(ts / ${sql.lit(bucket)}) * ${sql.lit(bucket)}`
      : f.groupBy === "key"
        ? sql<string>`key_id`
        : f.groupBy === "project"
          ? sql<string>`project_id`
          : sql<string>`coalesce(model, '(none)')`;
  let q = db
    .selectFrom("usage_events")
    .select([
      groupExpr.as("grp"),
      sql<number>`count(*)`.as("requests"),
      sql<number>`sum(case when status >= 400 then 1 else 0 end)`.as("errors"),
      sql<number>`sum(prompt_tokens)`.as("prompt_tokens"),
      sql<number>`sum(completion_tokens)`.as("completion_tokens"),
      sql<number>`sum(cached_tokens)`.as("cached_tokens"),
      sql<number>`sum(cost_micros)`.as("cost_micros"),
    ]);
  if (f.since !== undefined) q = q.where("ts", ">=", f.since);
  if (f.until !== undefined) q = q.where("ts", "<", f.until);
  if (f.keyId) q = q.where("key_id", "=", f.keyId);
  if (f.projectId) q = q.where("project_id", "=", f.projectId);
  if (f.model) q = q.where("model", "=", f.model);
  const rows = await q
    .groupBy(sql`grp`)
    .orderBy(bucket !== undefined ? sql`grp` : sql`sum(cost_micros)`, bucket !== undefined ? "asc" : "desc")
    .limit(f.limit)
    .execute();
  return rows.map((r) => {
    const cost = Number(r.cost_micros ?? 0);
    return {
      group: bucket !== undefined ? new Date(Number(r.grp)).toISOString() : String(r.grp),
      requests: Number(r.requests),
      errors: Number(r.errors ?? 0),
      prompt_tokens: Number(r.prompt_tokens ?? 0),
      completion_tokens: Number(r.completion_tokens ?? 0),
      cached_tokens: Number(r.cached_tokens ?? 0),
      cost_micros: cost,
      cost_usd: cost / 1_000_000,
    };
  });
}
