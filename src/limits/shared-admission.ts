import type { AlertSink } from "../alerts/types.js";
import type { Limits } from "../core/limits.js";
import { errorSummary, type Logger } from "../log/logger.js";
import {
  budgetView,
  type Admission,
  type AdmissionControl,
  type AdmissionRequest,
  type BudgetStatus,
  type Ticket,
} from "./admission.js";
import type { Check, Scope } from "./decide.js";
import type { BudgetLedger, BudgetSubject, LedgerHold } from "./ledger.js";
import { refusalAlert, refusalReason } from "./limit-alerts.js";
import type { Limiter, LocalTicket } from "./limiter.js";
import type { RateSubject, RedisRates, RedisRateTicket } from "./redis-rates.js";

/** What happens to rate limits while Redis is unreachable (`limits.redis_down`). */
export type RedisDownPolicy = "local" | "closed";

/** Where the rate limits of an admitted request were taken. */
type RateHold =
  { where: "none" } | { where: "redis"; ticket: RedisRateTicket } | { where: "local"; ticket: LocalTicket };

type RatesTaken =
  | { taken: true; rates: RateHold; checks: Check[] }
  | { taken: false; refused: Exclude<Admission<SharedTicket>, { ok: true }> };

interface SharedTicket extends Ticket {
  rates: RateHold;
  holds: LedgerHold[];
  keyId: string;
  projectId: string;
}

/** What /healthz, /readyz and the metrics say about limits. */
export interface LimitsHealth {
  /** 1 while rate limits are counted across replicas, else 0. */
  shared: 0 | 1;
  rate_limits:
    "shared (redis)" | "per process" | "per process (redis unreachable)" | "refused (redis unreachable)";
  budgets: "store" | "process";
  degraded: boolean;
  reason?: string;
}

export interface SharedAdmissionDeps {
  /** Null: no Redis configured, rate limits are counted per replica. */
  redis: RedisRates | null;
  /** In-process rate limits: without Redis, and while it is down under the `local` policy. */
  local: Limiter;
  redisDown: RedisDownPolicy;
  ledger: BudgetLedger;
  alerts: AlertSink;
  logger: Logger;
}

/**
 * Admission for several processes on one store: rate limits in Redis (one atomic script for
 * every subject of a request) and budgets in the store (guarded updates), so both hold across
 * replicas and budgets survive a Redis outage.
 *
 * Rate limits are taken first (a request refused by them never touches the store); if a
 * budget then refuses, the rate allowance is given back at once, so a refused request
 * consumes nothing. Nothing that cannot be proven allowed is let through: a store that cannot
 * be reached for a budget refuses with `budgets` unavailable; Redis down refuses with
 * `rate_limits` unavailable under the `closed` policy, or counts in process under `local`.
 */
export class SharedAdmission implements AdmissionControl {
  private readonly rateOnly = new WeakMap<Limits, Limits | null>();
  /** Rate-limit settlements still on their way to Redis (awaited on shutdown). */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: SharedAdmissionDeps) {}

  async admit(r: AdmissionRequest): Promise<Admission<SharedTicket>> {
    const budgets: BudgetSubject[] = [];
    const rates: RateSubject[] = [];
    for (const [scope, id, limits] of [
      ["key", r.keyId, r.keyLimits],
      ["project", r.projectId, r.projectLimits],
    ] as const) {
      if (!limits) continue;
      if (limits.budget) budgets.push({ scope, id, limits, projectId: r.projectId });
      const rl = this.rateLimitsOf(limits);
      if (rl) rates.push({ scope, id, limits: rl });
    }
    if (budgets.length && r.worstCostMicros === null) {
      const failed: Check = {
        scope: budgets[0]!.scope,
        kind: "budget",
        allowed: false,
        limit: 0,
        remaining: 0,
        resetAt: Number.POSITIVE_INFINITY,
      };
      return {
        ok: false,
        failed,
        checks: [failed],
        reason: "no price is known for this model, so its cost cannot be held against the budget",
      };
    }
    const taken = await this.takeRates(r, rates);
    if (!taken.taken) return taken.refused;
    let holds: LedgerHold[] = [];
    let checks = taken.checks;
    if (budgets.length) {
      const reserved = await this.deps.ledger
        .reserve(budgets, r.worstCostMicros ?? 0, r.now)
        .catch((err: unknown) => {
          this.deps.logger.warn(
            { err: errorSummary(err) },
            "budget store unreachable; refusing budgeted requests",
          );
          return null;
        });
      if (!reserved?.ok) this.track(this.finishRates(taken.rates, 0, true, r.now));
      if (!reserved)
        return {
          ok: false,
          unavailable: "budgets",
          checks: [],
          reason: "the store that holds this budget cannot be reached",
        };
      if (!reserved.ok) {
        this.deps.alerts.emit(refusalAlert(r, reserved.failed, reserved.state));
        return {
          ok: false,
          failed: reserved.failed,
          checks: reserved.checks,
          reason: refusalReason(reserved.failed),
        };
      }
      holds = reserved.holds;
      checks = [...checks, ...reserved.checks];
    }
    const ticket: SharedTicket = {
      done: false,
      rates: taken.rates,
      holds,
      keyId: r.keyId,
      projectId: r.projectId,
    };
    return { ok: true, ticket, checks };
  }

  settle(ticket: SharedTicket, actualTokens: number, actualCostMicros: number, now: number): void {
    this.finish(ticket, actualTokens, actualCostMicros, now);
  }

  release(ticket: SharedTicket, now: number): void {
    this.finish(ticket, 0, 0, now);
  }

  async budgetStatus(
    scope: Scope,
    id: string,
    limits: Limits | null,
    now: number,
  ): Promise<BudgetStatus | null> {
    if (!limits?.budget) return null;
    const b = await this.deps.ledger.state({ scope, id, limits }, now);
    return budgetView(limits.budget, b);
  }

  /** Renews the leases of everything this process holds; run every third of the lease. */
  async renew(now: number): Promise<void> {
    await Promise.all([
      this.deps.redis?.renew(now).catch(() => undefined),
      this.deps.ledger
        .renew(now)
        .catch((err: unknown) =>
          this.deps.logger.warn({ err: errorSummary(err) }, "could not renew budget holds"),
        ),
    ]);
  }

  health(): LimitsHealth {
    const { redis, redisDown } = this.deps;
    if (!redis)
      return {
        shared: 0,
        rate_limits: "per process",
        budgets: "store",
        degraded: false,
        reason: "no KEYWARD_REDIS_URL: rate limits and concurrency limits are counted per replica",
      };
    if (redis.available)
      return { shared: 1, rate_limits: "shared (redis)", budgets: "store", degraded: false };
    return {
      shared: 0,
      rate_limits: redisDown === "local" ? "per process (redis unreachable)" : "refused (redis unreachable)",
      budgets: "store",
      degraded: true,
      reason:
        redisDown === "local"
          ? "redis unreachable: rate limits are counted per process until it is back (limits.redis_down = local)"
          : "redis unreachable: rate-limited requests are refused with 503 until it is back (limits.redis_down = closed)",
    };
  }

  private async takeRates(r: AdmissionRequest, subjects: RateSubject[]): Promise<RatesTaken> {
    if (!subjects.length) return { taken: true, rates: { where: "none" }, checks: [] };
    const { redis } = this.deps;
    if (redis?.available) {
      try {
        const d = await redis.admit(r, subjects);
        if (d.ok) return { taken: true, rates: { where: "redis", ticket: d.ticket }, checks: d.checks };
        this.deps.alerts.emit(refusalAlert(r, d.failed, undefined));
        const refused = {
          ok: false,
          failed: d.failed,
          checks: d.checks,
          reason: refusalReason(d.failed),
        } as const;
        return { taken: false, refused };
      } catch (err) {
        this.deps.logger.debug({ err: errorSummary(err) }, "shared rate limits unreachable");
      }
    }
    if (redis && this.deps.redisDown === "closed")
      return {
        taken: false,
        refused: {
          ok: false,
          unavailable: "rate_limits",
          checks: [],
          reason: "the shared rate-limit store (Redis) cannot be reached",
        },
      };
    const local = this.deps.local.admit({
      ...r,
      keyLimits: subjects.find((s) => s.scope === "key")?.limits ?? null,
      projectLimits: subjects.find((s) => s.scope === "project")?.limits ?? null,
    });
    // Without budgets the in-process limiter never waits for a load: this is synchronous.
    const a = local instanceof Promise ? await local : local;
    if (!a.ok) return { taken: false, refused: a };
    return { taken: true, rates: { where: "local", ticket: a.ticket }, checks: a.checks };
  }

  private finish(ticket: SharedTicket, actualTokens: number, actualCost: number, now: number): void {
    if (ticket.done) return;
    ticket.done = true;
    this.track(this.finishRates(ticket.rates, actualTokens, false, now));
    // In memory: the ledger writes settled costs back (and alerts on them) when it flushes.
    if (ticket.holds.length) this.deps.ledger.settle(ticket.holds, actualCost);
  }

  /** Resolves once every rate-limit settlement begun so far is sent (or has failed). */
  async idle(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async finishRates(
    rates: RateHold,
    actualTokens: number,
    refund: boolean,
    now: number,
  ): Promise<void> {
    if (rates.where === "local") {
      if (refund) this.deps.local.refund(rates.ticket, now);
      else this.deps.local.settle(rates.ticket, actualTokens, 0, now);
    }
    if (rates.where === "redis")
      await this.deps.redis!.finish(rates.ticket, actualTokens, refund).catch((err: unknown) =>
        // The slot's lease runs out by itself; a token correction is lost with the outage.
        this.deps.logger.debug({ err: errorSummary(err) }, "could not settle shared rate limits"),
      );
  }

  /** A limits object without its budget (null when nothing is left), built once per object. */
  private rateLimitsOf(l: Limits): Limits | null {
    let r = this.rateOnly.get(l);
    if (r === undefined) {
      r =
        l.rpm === undefined && l.tpm === undefined && l.max_concurrent === undefined
          ? null
          : {
              ...(l.rpm !== undefined ? { rpm: l.rpm } : {}),
              ...(l.tpm !== undefined ? { tpm: l.tpm } : {}),
              ...(l.max_concurrent !== undefined ? { max_concurrent: l.max_concurrent } : {}),
            };
      this.rateOnly.set(l, r);
    }
    return r;
  }
}
