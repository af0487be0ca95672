import type { AlertSink } from "../alerts/types.js";
import type { Limits } from "../core/limits.js";
import {
  checkBudget,
  checkConcurrency,
  checkWindow,
  crossedThresholds,
  liveWindow,
  type BudgetState,
  type Check,
  type Scope,
  type Window,
} from "./decide.js";
import { periodBounds } from "./periods.js";

/** Reads settled spend (micro-dollars) of a key or project in [start, end) from the store. */
export type SpendLoader = (scope: Scope, id: string, start: number, end: number) => Promise<number>;

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

interface SubjectState {
  requests?: Window;
  tokens?: Window;
  inFlight: number;
  budget?: BudgetState;
  /** The budget period and time zone the state was loaded for (a changed budget reloads). */
  budgetPeriod?: string;
  budgetZone?: string;
}

interface Hold {
  state: SubjectState;
  scope: Scope;
  id: string;
  projectId: string;
  limits: Limits;
  tokenWindow?: Window;
  tokens: number;
  budget?: BudgetState;
  reserved: number;
  concurrent: boolean;
}

/** A key or project whose limits apply to a request, with its counters. */
interface Subject {
  scope: Scope;
  id: string;
  limits: Limits;
  state: SubjectState;
}

/** An admitted request's reservations, to settle (served) or release (never served). */
export interface Ticket {
  holds: Hold[];
  done: boolean;
}

export type Admission =
  | { ok: true; ticket: Ticket; checks: Check[] }
  | { ok: false; failed: Check; checks: Check[]; reason: string };

/** Budget thresholds (percent) that raise a `budget.threshold` alert once per period. */
export const BUDGET_THRESHOLDS = [50, 80, 100] as const;

/**
 * Rate limits, concurrency limits and budgets for keys and projects, in this process's memory.
 *
 * Admission first makes sure budget spend for the current period is loaded (the only await),
 * then decides every check purely and, only if all allow, applies them in the same synchronous
 * step — so concurrent requests can never push spend past a budget, and a request refused by
 * one limit consumes nothing of the others. Settlement swaps the reservation for the real cost.
 *
 * Counters live in one process: with several replicas each enforces its own share, so run
 * limits on one replica (or the upcoming Redis store) when you scale out.
 */
export class Limiter {
  /**
   * Counters by key id and by project id. Keyed by the id itself rather than a `scope:id`
   * string: the cached key hands over the same id strings on every request, whose hashes V8
   * keeps, where a concatenated key had to be built and hashed anew three times a request.
   */
  private readonly states: Record<Scope, Map<string, SubjectState>> = { key: new Map(), project: new Map() };
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly loadSpend: SpendLoader,
    private readonly alerts: AlertSink,
  ) {}

  /**
   * Admits or refuses a request. Synchronous when the budgets involved are already loaded for
   * the current period (the usual case: no await, no promise on the hot path); otherwise a
   * promise that loads them first.
   */
  admit(r: AdmissionRequest): Admission | Promise<Admission> {
    const subjects: Subject[] = [];
    if (r.keyLimits)
      subjects.push({ scope: "key", id: r.keyId, limits: r.keyLimits, state: this.state("key", r.keyId) });
    if (r.projectLimits) {
      const state = this.state("project", r.projectId);
      subjects.push({ scope: "project", id: r.projectId, limits: r.projectLimits, state });
    }
    let loads: Array<Promise<void>> | null = null;
    for (const s of subjects) {
      const load = s.limits.budget ? this.ensureBudget(s, r.now) : null;
      if (load) (loads ??= []).push(load);
    }
    return loads ? Promise.all(loads).then(() => this.decide(r, subjects)) : this.decide(r, subjects);
  }

  /** Decides every check against the counters as they are now, and applies them if all allow. */
  private decide(r: AdmissionRequest, subjects: readonly Subject[]): Admission {
    // Decide, purely, against a snapshot of every counter involved.
    const checks: Check[] = [];
    for (const s of subjects) {
      const st = s.state;
      const l = s.limits;
      if (l.rpm !== undefined)
        checks.push(checkWindow(s.scope, "requests", liveWindow(st.requests, r.now), l.rpm, 1));
      if (l.tpm !== undefined)
        checks.push(checkWindow(s.scope, "tokens", liveWindow(st.tokens, r.now), l.tpm, r.estimatedTokens));
      if (l.max_concurrent !== undefined)
        checks.push(checkConcurrency(s.scope, st.inFlight, l.max_concurrent, r.now));
      if (l.budget) {
        if (r.worstCostMicros === null) {
          const failed: Check = {
            scope: s.scope,
            kind: "budget",
            allowed: false,
            limit: 0,
            remaining: 0,
            resetAt: st.budget!.end,
          };
          return {
            ok: false,
            failed,
            checks: [failed],
            reason: "no price is known for this model, so its cost cannot be held against the budget",
          };
        }
        checks.push(checkBudget(s.scope, st.budget!, usdToMicros(l.budget.usd), r.worstCostMicros));
      }
    }
    const failed = checks.find((c) => !c.allowed);
    if (failed) {
      this.alertRefusal(r, failed);
      return { ok: false, failed, checks, reason: refusalReason(failed) };
    }

    // Apply: every check allowed, so take every allowance at once.
    const holds: Hold[] = subjects.map((s) => {
      const st = s.state;
      const hold: Hold = {
        state: st,
        scope: s.scope,
        id: s.id,
        projectId: r.projectId,
        limits: s.limits,
        tokens: 0,
        reserved: 0,
        concurrent: false,
      };
      if (s.limits.rpm !== undefined) {
        st.requests = liveWindow(st.requests, r.now);
        st.requests.used += 1;
      }
      if (s.limits.tpm !== undefined) {
        st.tokens = liveWindow(st.tokens, r.now);
        st.tokens.used += r.estimatedTokens;
        hold.tokenWindow = st.tokens;
        hold.tokens = r.estimatedTokens;
      }
      if (s.limits.max_concurrent !== undefined) {
        st.inFlight += 1;
        hold.concurrent = true;
      }
      if (s.limits.budget && st.budget) {
        st.budget.reserved += r.worstCostMicros ?? 0;
        hold.budget = st.budget;
        hold.reserved = r.worstCostMicros ?? 0;
      }
      return hold;
    });
    return { ok: true, ticket: { holds, done: false }, checks };
  }

  /** The request was served: replace estimates and reservations with what it really used. */
  settle(ticket: Ticket, actualTokens: number, actualCostMicros: number, now: number): void {
    this.finish(ticket, actualTokens, actualCostMicros, now);
  }

  /** The request was never served (refused later, upstream unreachable): give everything back. */
  release(ticket: Ticket, now: number): void {
    this.finish(ticket, 0, 0, now);
  }

  private finish(ticket: Ticket, actualTokens: number, actualCost: number, now: number): void {
    if (ticket.done) return;
    ticket.done = true;
    for (const h of ticket.holds) {
      // Corrections apply only to the window they were taken from; a closed window is history.
      if (h.tokenWindow) h.tokenWindow.used = Math.max(0, h.tokenWindow.used - h.tokens + actualTokens);
      if (h.concurrent) h.state.inFlight = Math.max(0, h.state.inFlight - 1);
      if (h.budget) {
        const before = h.budget.spent;
        h.budget.reserved = Math.max(0, h.budget.reserved - h.reserved);
        h.budget.spent += actualCost;
        const limit = usdToMicros(h.limits.budget!.usd);
        for (const pct of crossedThresholds(before, h.budget.spent, limit, BUDGET_THRESHOLDS)) {
          this.budgetAlert(h.scope, h.id, h.projectId, pct, h.budget, limit, now);
        }
      }
    }
  }

  /** Budget status for views: spent / limit / reset time in the current period. */
  async budgetStatus(scope: Scope, id: string, limits: Limits | null, now: number) {
    if (!limits?.budget) return null;
    const state = this.state(scope, id);
    await this.ensureBudget({ scope, id, limits, state }, now);
    const b = state.budget!;
    return {
      limit_usd: limits.budget.usd,
      spent_usd: b.spent / 1_000_000,
      reserved_usd: b.reserved / 1_000_000,
      period: limits.budget.period,
      timezone: limits.budget.timezone,
      period_start: new Date(b.start).toISOString(),
      resets_at: Number.isFinite(b.end) ? new Date(b.end).toISOString() : null,
    };
  }

  private state(scope: Scope, id: string): SubjectState {
    const states = this.states[scope];
    let st = states.get(id);
    if (!st) states.set(id, (st = { inFlight: 0 }));
    return st;
  }

  /**
   * Loads the period's settled spend once per subject and period (concurrent callers share the
   * load). Null when it is loaded already.
   */
  private ensureBudget({ state: st, scope, id, limits }: Subject, now: number): Promise<void> | null {
    const budget = limits.budget!;
    if (
      st.budget &&
      st.budgetPeriod === budget.period &&
      st.budgetZone === budget.timezone &&
      now < st.budget.end &&
      now >= st.budget.start
    )
      return null;
    const { start, end } = periodBounds(budget.period, budget.timezone, now);
    const loadKey = `${scope}:${id}:${budget.period}:${budget.timezone}:${start}`;
    let pending = this.loading.get(loadKey);
    if (!pending) {
      pending = this.loadSpend(scope, id, start, end).then((spent) => {
        // Keep reservations of requests still in flight from the same period.
        const reserved = st.budget && st.budget.start === start ? st.budget.reserved : 0;
        st.budget = { start, end, spent, reserved };
        st.budgetPeriod = budget.period;
        st.budgetZone = budget.timezone;
      });
      this.loading.set(loadKey, pending);
      void pending.finally(() => this.loading.delete(loadKey)).catch(() => undefined);
    }
    return pending;
  }

  private alertRefusal(r: AdmissionRequest, failed: Check): void {
    const id = failed.scope === "key" ? r.keyId : r.projectId;
    if (failed.kind === "budget") {
      // Refused for budget (spend + reservations + this request would pass it): once per period.
      const b = this.state(failed.scope, id).budget;
      this.alerts.emit({
        type: "budget.exceeded",
        subject: id,
        projectId: r.projectId,
        data: {
          scope: failed.scope,
          key_id: r.keyId,
          limit_usd: failed.limit / 1_000_000,
          spent_usd: (b?.spent ?? 0) / 1_000_000,
          resets_at: Number.isFinite(failed.resetAt) ? new Date(failed.resetAt).toISOString() : null,
        },
        dedupeKey: `budget.exceeded:${failed.scope}:${id}:${b?.start ?? 0}`,
        at: r.now,
      });
      return;
    }
    // The first refusal in a window raises one alert; the rest of the window is quiet.
    this.alerts.emit({
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
    });
  }

  private budgetAlert(
    scope: Scope,
    id: string,
    projectId: string,
    pct: number,
    b: BudgetState,
    limit: number,
    now: number,
  ): void {
    this.alerts.emit({
      type: "budget.threshold",
      subject: id,
      projectId,
      data: {
        scope,
        threshold_percent: pct,
        spent_usd: b.spent / 1_000_000,
        limit_usd: limit / 1_000_000,
        period_start: new Date(b.start).toISOString(),
      },
      dedupeKey: `budget.threshold:${scope}:${id}:${pct}:${b.start}`,
      at: now,
    });
  }
}

export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

function refusalReason(c: Check): string {
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
