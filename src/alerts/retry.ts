/**
 * Webhook retry policy: pure decisions about what happens after a delivery attempt.
 * At-least-once: a message is retried until a 2xx or the schedule runs out (~24 h), then failed.
 */

/** Delay before retry n (1-based), seconds: 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h. */
export const RETRY_SCHEDULE_SECONDS = [10, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800] as const;

/** Attempts in all: the first plus one per scheduled retry (the last retry ends ~23.7 h after the first). */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;

/** Jitter stretches each delay by up to this fraction, so receivers coming back are not stampeded. */
export const JITTER = 0.2;

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based), with jitter from
 * `random` in [0, 1). Null when no retry is left.
 */
export function retryDelayMs(attempt: number, random: number): number | null {
  const base = RETRY_SCHEDULE_SECONDS[attempt - 1];
  if (base === undefined) return null;
  return Math.round(base * 1000 * (1 + JITTER * random));
}

/** What one attempt produced: an HTTP status, or a transport error (refused, timeout, …). */
export type AttemptResult = { status: number; error: null } | { status: null; error: string };

/** The outbox row's next state after an attempt. */
export type AttemptDecision =
  | { outcome: "delivered" }
  | { outcome: "retrying"; nextAttemptAt: number; error: string }
  | { outcome: "failed"; error: string };

/** 2xx delivers; anything else (3xx included: redirects are not followed) is retried while attempts remain. */
export function decideAfterAttempt(
  result: AttemptResult,
  attempt: number,
  now: number,
  random: number,
): AttemptDecision {
  if (result.status !== null && result.status >= 200 && result.status < 300) return { outcome: "delivered" };
  const error = result.status !== null ? `HTTP ${result.status}` : result.error;
  const delay = retryDelayMs(attempt, random);
  if (delay === null) return { outcome: "failed", error };
  return { outcome: "retrying", nextAttemptAt: now + delay, error };
}
