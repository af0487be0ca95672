import {
  DAY_MS,
  isStale,
  lastActivity,
  rotateBy,
  type PolicyKey,
  type RotationPolicy,
} from "../core/rotation-policy.js";
import type { AlertEvent } from "./types.js";

/**
 * Pure decisions of the policy sweeper for one key: which alerts are due now and whether the
 * rotation policy expires it. Dedupe keys make each alert fire once however often this runs.
 */

/** Days before `expires_at` at which `key.expiring` fires. */
export const EXPIRY_WARNING_DAYS = [7, 1] as const;

/** The key fields the policy sweep reads (never a secret). */
export interface SweptKey extends PolicyKey {
  id: string;
  project_id: string;
  name: string;
  hint: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const days = (ms: number) => Math.round((ms / DAY_MS) * 10) / 10;

function keyData(k: SweptKey): Record<string, unknown> {
  return { key_id: k.id, key_name: k.name, masked_key: k.hint };
}

/**
 * `key.expiring` for the most urgent warning threshold reached (7 days, then 1 day), once per
 * threshold per expiry time. A threshold the key never lived beyond (a 3-day key and the 7-day
 * warning) is skipped: short-lived keys expire by design. Active keys only.
 */
export function expiringAlert(k: SweptKey, now: number): AlertEvent | null {
  if (k.status !== "active" || k.expires_at === null || k.expires_at <= now) return null;
  const expiresAt = k.expires_at;
  const due = EXPIRY_WARNING_DAYS.filter(
    (d) => expiresAt - d * DAY_MS <= now && k.created_at < expiresAt - d * DAY_MS,
  );
  if (due.length === 0) return null;
  const threshold = Math.min(...due);
  return {
    type: "key.expiring",
    subject: k.id,
    projectId: k.project_id,
    data: {
      ...keyData(k),
      expires_at: iso(expiresAt),
      days_before: threshold,
      expires_in_days: days(expiresAt - now),
    },
    dedupeKey: `key.expiring:${k.id}:${threshold}d:${expiresAt}`,
    at: now,
  };
}

/** What the rotation rule decided for one key. */
export interface RotationDecision {
  alert: AlertEvent | null;
  /** Set expires_at to this (the deadline) when the project enforces its policy; else null. */
  expireAt: number | null;
}

/**
 * Past its rotation deadline: `key.rotation_due` once per deadline (a rotation moves the
 * deadline, and a later one alerts again). With `enforce`, the key expires at the deadline
 * unless it already expires by then. Revoked or already expired keys need nothing.
 */
export function rotationDecision(k: SweptKey, policy: RotationPolicy, now: number): RotationDecision {
  const deadline = rotateBy(k, policy);
  const none = { alert: null, expireAt: null };
  if (deadline === null || deadline > now) return none;
  if (k.expires_at !== null && k.expires_at <= now) return none;
  const expireAt = policy.enforce && (k.expires_at === null || k.expires_at > deadline) ? deadline : null;
  // A disabled key is out of service: only its expiry by policy is worth telling.
  if (k.status !== "active" && expireAt === null) return none;
  return {
    alert: {
      type: "key.rotation_due",
      subject: k.id,
      projectId: k.project_id,
      data: {
        ...keyData(k),
        rotate_by: iso(deadline),
        max_age_days: policy.maxAgeDays,
        last_rotated_at: k.rotated_at === null ? null : iso(k.rotated_at),
        enforced: expireAt !== null,
        expires_at: expireAt !== null ? iso(expireAt) : k.expires_at === null ? null : iso(k.expires_at),
      },
      dedupeKey: `key.rotation_due:${k.id}:${deadline}`,
      at: now,
    },
    expireAt,
  };
}

/** `key.stale` once per staleness episode: the episode is named by the last activity it follows. */
export function staleAlert(k: SweptKey, policy: RotationPolicy, now: number): AlertEvent | null {
  if (!isStale(k, policy, now)) return null;
  const since = lastActivity(k);
  return {
    type: "key.stale",
    subject: k.id,
    projectId: k.project_id,
    data: {
      ...keyData(k),
      last_used_at: k.last_used_at === null ? null : iso(k.last_used_at),
      created_at: iso(k.created_at),
      stale_after_days: policy.staleAfterDays,
      unused_days: Math.floor((now - since) / DAY_MS),
    },
    dedupeKey: `key.stale:${k.id}:${since}`,
    at: now,
  };
}
