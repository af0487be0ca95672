/**
 * Pure limit decisions: functions of the current counters and the request, with no side
 * effects. The limiter applies a decision only when every check allows it, so a request
 * refused by one limit never consumes another limit's allowance.
 */

export const WINDOW_MS = 60_000;

/** A per-minute counter. The window opens at the first request after the previous one closed. */
export interface Window {
  start: number;
  used: number;
}

/** Spend in one budget period, in micro-dollars: settled plus reserved by requests in flight. */
export interface BudgetState {
  start: number;
  end: number;
  spent: number;
  reserved: number;
}

export type LimitKind = "requests" | "tokens" | "concurrency" | "budget";
export type Scope = "key" | "project";

export interface Check {
  scope: Scope;
  kind: LimitKind;
  allowed: boolean;
  limit: number;
  /** What is left after this request (if admitted). */
  remaining: number;
  /** When the counter frees up again (epoch ms); budgets: the period's end. */
  resetAt: number;
}

/** The window in force at `now` (a fresh one when the last has closed). */
export function liveWindow(w: Window | undefined, now: number): Window {
  return w && now < w.start + WINDOW_MS ? w : { start: now, used: 0 };
}

/** Can `cost` more units fit in the window? */
export function checkWindow(
  scope: Scope,
  kind: "requests" | "tokens",
  w: Window,
  limit: number,
  cost: number,
): Check {
  const allowed = w.used + cost <= limit;
  return {
    scope,
    kind,
    allowed,
    limit,
    remaining: Math.max(0, limit - w.used - (allowed ? cost : 0)),
    resetAt: w.start + WINDOW_MS,
  };
}

/** Can one more request run concurrently? */
export function checkConcurrency(scope: Scope, inFlight: number, limit: number, now: number): Check {
  const allowed = inFlight + 1 <= limit;
  return {
    scope,
    kind: "concurrency",
    allowed,
    limit,
    remaining: Math.max(0, limit - inFlight - (allowed ? 1 : 0)),
    resetAt: now + 1000,
  };
}

/**
 * Can the request's worst-case cost be reserved? Spent + reserved + this reservation must stay
 * within the budget: that is what makes overshoot impossible for concurrent requests.
 */
export function checkBudget(scope: Scope, b: BudgetState, limitMicros: number, reserveMicros: number): Check {
  const committed = b.spent + b.reserved;
  const allowed = committed + reserveMicros <= limitMicros;
  return {
    scope,
    kind: "budget",
    allowed,
    limit: limitMicros,
    remaining: Math.max(0, limitMicros - committed - (allowed ? reserveMicros : 0)),
    resetAt: b.end,
  };
}

/** Thresholds (percent of budget) crossed by going from `before` to `after` spend. */
export function crossedThresholds(
  before: number,
  after: number,
  limit: number,
  thresholds: readonly number[],
): number[] {
  return thresholds.filter((p) => before < (limit * p) / 100 && after >= (limit * p) / 100);
}
