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
import { BUDGET_THRESHOLDS, refusalAlert, refusalReason, thresholdAlert } from "./limit-alerts.js";
import { periodBounds } from "./periods.js";
import {
  budgetView,
  type Admission,
  type AdmissionControl,
  type AdmissionRequest,
  type BudgetStatus,
  type Ticket,
} from "./admission.js";

export type { Admission, AdmissionRequest } from "./admission.js";

/** Reads settled spend (micro-dollars) of a key or project in [start, end) from the store. */
export type SpendLoader = (scope: Scope, id: string, start: number, end: number) => Promise<number>;

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
  requestWindow?: Window;
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

/** An admitted request's reservations in this process. */
export interface LocalTicket extends Ticket {
  holds: Hold[];
}

/**
 * Rate limits, concurrency limits and budgets for keys and projects, in this process's memory.
 *
 * Admission first makes sure budget spend for the current period is loaded (the only await),
 * then decides every check purely and, only if all allow, applies them in the same synchronous
 * step — so concurrent requests can never push spend past a budget, and a request refused by
 * one limit consumes nothing of the others. Settlement swaps the reservation for the real cost.
 *
 * Counters live in one process: this is the single-process implementation (SQLite, no Redis),
 * and the fallback for rate limits when Redis is unreachable or not configured.
 */
export class Limiter implements AdmissionControl {
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
  admit(r: AdmissionRequest): Admission<LocalTicket> | Promise<Admission<LocalTicket>> {
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
  private decide(r: AdmissionRequest, subjects: readonly Subject[]): Admission<LocalTicket> {
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
        hold.requestWindow = st.requests;
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
    const ticket: LocalTicket = { holds, done: false };
    return { ok: true, ticket, checks };
  }

  /** The request was served: replace estimates and reservations with what it really used. */
  settle(ticket: LocalTicket, actualTokens: number, actualCostMicros: number, now: number): void {
    this.finish(ticket, actualTokens, actualCostMicros, now);
  }

  /** The request was never served (refused later, upstream unreachable): give everything back. */
  release(ticket: LocalTicket, now: number): void {
    this.finish(ticket, 0, 0, now);
  }

  /**
   * Refused later by something else (a budget kept elsewhere): gives back everything, the
   * request itself included, so the refused request consumed nothing.
   */
  refund(ticket: LocalTicket, now: number): void {
    if (ticket.done) return;
    for (const h of ticket.holds)
      if (h.requestWindow) h.requestWindow.used = Math.max(0, h.requestWindow.used - 1);
    this.finish(ticket, 0, 0, now);
  }

  private finish(ticket: LocalTicket, actualTokens: number, actualCost: number, now: number): void {
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
          this.alerts.emit(thresholdAlert(h, pct, h.budget.spent, limit, h.budget.start, now));
        }
      }
    }
  }

  /** Budget status for views: spent / limit / reset time in the current period. */
  async budgetStatus(
    scope: Scope,
    id: string,
    limits: Limits | null,
    now: number,
  ): Promise<BudgetStatus | null> {
    if (!limits?.budget) return null;
    const state = this.state(scope, id);
    await this.ensureBudget({ scope, id, limits, state }, now);
    const b = state.budget!;
    return budgetView(limits.budget, b);
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
    const budget = failed.kind === "budget" ? this.state(failed.scope, id).budget : undefined;
    this.alerts.emit(refusalAlert(r, failed, budget));
  }
}

export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}
