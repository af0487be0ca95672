import type { AlertEvent } from "../alerts/types.js";
import type { AdmissionRequest } from "./admission.js";
import type { Check, Scope } from "./decide.js";

/** Budget thresholds (percent) that raise a `budget.threshold` alert once per period. */
export const BUDGET_THRESHOLDS = [50, 80, 100] as const;

/**
 * The alert for a refusal: `budget.exceeded` once per period (spend + reservations + this
 * request would pass the budget), `key.rate_limited` once per window. The dedupe keys make
 * "once" hold across replicas, whichever of them refused first.
 */
export function refusalAlert(
  r: AdmissionRequest,
  failed: Check,
  budget: { spent: number; start: number } | undefined,
): AlertEvent {
  const id = failed.scope === "key" ? r.keyId : r.projectId;
  if (failed.kind === "budget") {
    return {
      type: "budget.exceeded",
      subject: id,
      projectId: r.projectId,
      data: {
        scope: failed.scope,
        key_id: r.keyId,
        limit_usd: failed.limit / 1_000_000,
        spent_usd: (budget?.spent ?? 0) / 1_000_000,
        resets_at: Number.isFinite(failed.resetAt) ? new Date(failed.resetAt).toISOString() : null,
      },
      dedupeKey: `budget.exceeded:${failed.scope}:${id}:${budget?.start ?? 0}`,
      at: r.now,
    };
  }
  return {
    type: "key.rate_limited",
    subject: r.keyId,
    projectId: r.projectId,
    data: {
      scope: failed.scope,
      limit: failed.kind,
      value: failed.limit,
      resets_at: new Date(failed.resetAt).toISOString(),
    },
    dedupeKey: `key.rate_limited:${id}:${failed.kind}:${failed.resetAt}`,
    at: r.now,
  };
}

/** A `budget.threshold` alert: `pct` % of the budget spent in the period starting `start`. */
export function thresholdAlert(
  subject: { scope: Scope; id: string; projectId: string },
  pct: number,
  spent: number,
  limit: number,
  start: number,
  now: number,
): AlertEvent {
  return {
    type: "budget.threshold",
    subject: subject.id,
    projectId: subject.projectId,
    data: {
      scope: subject.scope,
      threshold_percent: pct,
      spent_usd: spent / 1_000_000,
      limit_usd: limit / 1_000_000,
      period_start: new Date(start).toISOString(),
    },
    dedupeKey: `budget.threshold:${subject.scope}:${subject.id}:${pct}:${start}`,
    at: now,
  };
}

/** The reason a refused request is given, in the error message. */
export function refusalReason(c: Check): string {
  const who = c.scope === "key" ? "this key's" : "this project's";
  switch (c.kind) {
    case "requests":
      return `Rate limit reached: ${who} limit is ${c.limit} requests per minute.`;
    case "tokens":
      return `Rate limit reached: ${who} limit is ${c.limit} tokens per minute.`;
    case "concurrency":
      return `Too many concurrent requests: ${who} limit is ${c.limit} at a time.`;
    case "budget":
      return `Budget exceeded: ${who} budget of $${(c.limit / 1_000_000).toFixed(2)} for this period cannot cover this request.`;
  }
}
