/**
 * A project's key rotation policy and the pure rules derived from it: when a key must be
 * rotated by (`rotate_by`) and whether it is stale. No I/O; the sweeper and the key views
 * both use these, so a listing and an alert can never disagree.
 */

export const DAY_MS = 86_400_000;

/** A project's rotation policy, as the rules use it. */
export interface RotationPolicy {
  /** Keys must get a new secret within this many days of creation or their last rotation; null = no limit. */
  maxAgeDays: number | null;
  /** Expire keys at their rotation deadline (true) or only warn (false). */
  enforce: boolean;
  /** Active keys unused for this many days are stale; null = never flagged. */
  staleAfterDays: number | null;
}

/** The policy of a project that never changed it (the migration's column defaults). */
export const DEFAULT_ROTATION_POLICY: RotationPolicy = { maxAgeDays: 90, enforce: false, staleAfterDays: 30 };

/** The stored form of a policy (projects table columns). */
export interface PolicyColumns {
  rotation_max_age_days: number | null;
  rotation_enforce: number;
  stale_after_days: number | null;
}

/** The policy from its stored columns. */
export function policyFromColumns(p: PolicyColumns): RotationPolicy {
  return {
    maxAgeDays: p.rotation_max_age_days,
    enforce: p.rotation_enforce === 1,
    staleAfterDays: p.stale_after_days,
  };
}

/** The key fields the rules read. */
export interface PolicyKey {
  status: "active" | "disabled" | "revoked";
  created_at: number;
  rotated_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
}

/**
 * The rotation deadline: the last rotation (or creation) plus the maximum age. Null when the
 * project has no maximum age or the key is revoked (nothing left to rotate).
 */
export function rotateBy(key: PolicyKey, policy: RotationPolicy): number | null {
  if (policy.maxAgeDays === null || key.status === "revoked") return null;
  return (key.rotated_at ?? key.created_at) + policy.maxAgeDays * DAY_MS;
}

/** When the key was last in use: its last use, or its creation when it was never used. */
export function lastActivity(key: PolicyKey): number {
  return key.last_used_at ?? key.created_at;
}

/**
 * Stale: an active, unexpired key not used for `staleAfterDays`. Disabled, revoked and expired
 * keys are already out of service, so they are never flagged.
 */
export function isStale(key: PolicyKey, policy: RotationPolicy, now: number): boolean {
  if (policy.staleAfterDays === null || key.status !== "active") return false;
  if (key.expires_at !== null && key.expires_at <= now) return false;
  return lastActivity(key) <= now - policy.staleAfterDays * DAY_MS;
}
