import { sql, type Expression, type ExpressionBuilder, type SqlBool } from "kysely";
import { DAY_MS, policyFromColumns, type RotationPolicy } from "../core/rotation-policy.js";
import type { Executor } from "../store/database.js";
import type { DB } from "../store/schema.js";

/** The rotation policy of one project (for a project that does not exist: no rules). */
export async function projectPolicy(exec: Executor, projectId: string): Promise<RotationPolicy> {
  const policies = await projectPolicies(exec, [projectId]);
  return policies.get(projectId)!;
}

/** The rotation policies of several projects, by id (every id gets one). */
export async function projectPolicies(
  exec: Executor,
  projectIds: readonly string[],
): Promise<Map<string, RotationPolicy>> {
  const ids = [...new Set(projectIds)];
  const out = new Map<string, RotationPolicy>();
  if (ids.length === 0) return out;
  const rows = await exec
    .selectFrom("projects")
    .select(["id", "rotation_max_age_days", "rotation_enforce", "stale_after_days"])
    .where("id", "in", ids)
    .execute();
  for (const r of rows) out.set(r.id, policyFromColumns(r));
  // A key always has its project (foreign key); this only covers a race with nothing to show.
  for (const id of ids)
    if (!out.has(id)) out.set(id, { maxAgeDays: null, enforce: false, staleAfterDays: null });
  return out;
}

/**
 * SQL twin of `isStale` (core/rotation-policy.ts) for `api_keys` rows, so a stale filter pages
 * correctly: active, unexpired, and last activity at or before now − the project's stale days.
 */
export function staleCondition(eb: ExpressionBuilder<DB, "api_keys">, now: number): Expression<SqlBool> {
  return eb.and([
    eb("api_keys.status", "=", "active"),
    eb.or([eb("api_keys.expires_at", "is", null), eb("api_keys.expires_at", ">", now)]),
    // Casts keep PostgreSQL's arithmetic in bigint (days × ms overflows integer).
    projectWhere(
      eb,
      "stale_after_days",
      sql<SqlBool>`coalesce(api_keys.last_used_at, api_keys.created_at) <= cast(${now} as bigint) - cast(projects.stale_after_days as bigint) * ${sql.lit(DAY_MS)}`,
    ),
  ]);
}

/**
 * SQL twin of `rotateBy(key) < before` (core/rotation-policy.ts): not revoked, in a project with
 * a maximum age, and last rotated (or created) longer than that age before `before`.
 */
export function rotateDueCondition(
  eb: ExpressionBuilder<DB, "api_keys">,
  before: number,
): Expression<SqlBool> {
  return eb.and([
    eb("api_keys.status", "!=", "revoked"),
    projectWhere(
      eb,
      "rotation_max_age_days",
      sql<SqlBool>`coalesce(api_keys.rotated_at, api_keys.created_at) + cast(projects.rotation_max_age_days as bigint) * ${sql.lit(DAY_MS)} < cast(${before} as bigint)`,
    ),
  ]);
}

/**
 * Keys with a budget of their own. `limits` is JSON that only keyward writes, from the validated
 * limits schema, whose only strings are the period name and an IANA time zone: the member name
 * `"budget"` appears in it exactly when the key has a budget.
 */
export function budgetedCondition(eb: ExpressionBuilder<DB, "api_keys">): Expression<SqlBool> {
  // coalesce: a key without limits (NULL) is not budgeted, and so must match the negation too.
  return eb(eb.fn.coalesce("api_keys.limits", sql.lit("")), "like", '%"budget":%');
}

/** The key's project sets `setting` (a policy in days) and `condition` holds for the key. */
function projectWhere(
  eb: ExpressionBuilder<DB, "api_keys">,
  setting: "stale_after_days" | "rotation_max_age_days",
  condition: Expression<SqlBool>,
): Expression<SqlBool> {
  return eb.exists(
    eb
      .selectFrom("projects")
      .select(sql<number>`1`.as("one"))
      .whereRef("projects.id", "=", "api_keys.project_id")
      .where(`projects.${setting}`, "is not", null)
      .where(condition),
  );
}
