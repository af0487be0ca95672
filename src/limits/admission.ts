import type { Limits } from "../core/limits.js";
import type { Check, Scope } from "./decide.js";

/** What admission needs to know about one request. */
export interface AdmissionRequest {
  keyId: string;
  projectId: string;
  keyLimits: Limits | null;
  projectLimits: Limits | null;
  /** Estimated tokens (prompt + maximum output), for tokens-per-minute. */
  estimatedTokens: number;
  /** Worst-case cost in micro-dollars, or null when the model has no known price. */
  worstCostMicros: number | null;
  now: number;
}

/**
 * An admitted request's reservations, to settle (served) or release (never served). Each
 * implementation hands out and takes back its own kind; to the gateway it is opaque.
 */
export interface Ticket {
  done: boolean;
}

/** Which shared state could not be reached to decide a request (it is refused, never let through). */
export type Unavailable = "rate_limits" | "budgets";

export type Admission<T extends Ticket = Ticket> =
  | { ok: true; ticket: T; checks: Check[] }
  | { ok: false; failed: Check; checks: Check[]; reason: string }
  | { ok: false; unavailable: Unavailable; checks: Check[]; reason: string };

/** A subject's budget in its current period, for views. */
export interface BudgetStatus {
  limit_usd: number;
  spent_usd: number;
  reserved_usd: number;
  period: NonNullable<Limits["budget"]>["period"];
  timezone: string;
  period_start: string;
  resets_at: string | null;
}

/** A budget's current period as views show it: the state in micro-dollars, the view in USD. */
export function budgetView(
  budget: NonNullable<Limits["budget"]>,
  b: { start: number; end: number; spent: number; reserved: number },
): BudgetStatus {
  return {
    limit_usd: budget.usd,
    spent_usd: b.spent / 1_000_000,
    reserved_usd: b.reserved / 1_000_000,
    period: budget.period,
    timezone: budget.timezone,
    period_start: new Date(b.start).toISOString(),
    resets_at: Number.isFinite(b.end) ? new Date(b.end).toISOString() : null,
  };
}

/**
 * Rate limits, concurrency limits and budgets of keys and projects, as the gateway uses them:
 * admit (decide every limit and, only if all allow, take them), then exactly one of settle
 * (served: the real usage replaces the estimates) or release (never served: all given back).
 * Implemented in process (`Limiter`) and shared by replicas (`SharedAdmission`); which one is
 * chosen once at start-up (src/app/context.ts).
 */
export interface AdmissionControl {
  /** Synchronous when it can be (the in-process path keeps the hot path free of promises). */
  admit(r: AdmissionRequest): Admission | Promise<Admission>;
  settle(ticket: Ticket, actualTokens: number, actualCostMicros: number, now: number): void;
  release(ticket: Ticket, now: number): void;
  budgetStatus(scope: Scope, id: string, limits: Limits | null, now: number): Promise<BudgetStatus | null>;
}
