import { randomUUID } from "node:crypto";
import { sql, type Kysely, type Transaction } from "kysely";
import type { AlertSink } from "../alerts/types.js";
import type { BudgetPeriod, Limits } from "../core/limits.js";
import type { DB } from "../store/schema.js";
import { free, growth, type AllowanceAmounts } from "./allowance.js";
import { checkBudget, crossedThresholds, type BudgetState, type Check, type Scope } from "./decide.js";
import { BUDGET_THRESHOLDS, thresholdAlert } from "./limit-alerts.js";
import type { SpendLoader } from "./limiter.js";
import { PeriodCache } from "./periods.js";

/** A subject (key or project) with a budget, and the project it belongs to (for alerts). */
export interface BudgetSubject {
  scope: Scope;
  id: string;
  limits: Limits;
  projectId: string;
}

/** One admitted request's claim on this process's allowance for a subject. */
export interface LedgerHold {
  scope: Scope;
  subjectId: string;
  periodKey: string;
  amount: number;
}

export type Reservation =
  | { ok: true; holds: LedgerHold[]; checks: Check[] }
  | { ok: false; failed: Check; checks: Check[]; state: BudgetState };

/** This process's allowance for one subject and period (see allowance.ts). */
interface Allowance extends AllowanceAmounts {
  scope: Scope;
  subjectId: string;
  projectId: string;
  periodKey: string;
  start: number;
  end: number;
  limitMicros: number;
  /** The id of this process's hold row for the allowance. */
  holdId: string;
  /** The ledger row as this process last saw it. */
  row: { spent: number; reserved: number };
  /** Whether a request used the allowance since the last flush. */
  used: boolean;
  /** The store write under way: one at a time per allowance. */
  writing: Promise<unknown> | null;
}

/** What a write does to an allowance's spare room. */
type Resize = { grow: number } | "keep" | "release";

/** Tries of a growth whose guard lost a race with another process, before giving up on it. */
const GROW_TRIES = 3;

/**
 * Budgets shared by every process on one store, through the store itself (SQLite or
 * PostgreSQL), so they hold across replicas and survive a Redis outage.
 *
 * One row per subject and period (`budget_ledger`: spent, reserved), created from the durable
 * spend (the usage rows) the first time the period is used. Each process serves its requests
 * from an allowance: one hold row (`budget_holds`) counted in `reserved`, grown by a guarded
 * update when it runs out (so spent + reserved can never pass the budget, whatever process
 * serves a request), renewed while the process lives, and written back by `flush` (the costs
 * settled since the last write move from the hold to `spent`; spare room unused since the last
 * flush is given back). Admitting and settling a request touch only memory: the store is
 * written about once per allowance grant and flush instead of twice per request. `sweep`
 * releases the holds of a process that died once their lease has passed, and re-reads the
 * subject's spend from the usage rows, the source of truth, so costs it settled but had not
 * written back yet still count.
 */
export class BudgetLedger {
  /** By subject and period; an entry is dropped once its period is over and nothing is left. */
  private readonly allowances = new Map<string, Allowance>();
  private readonly periods = new PeriodCache();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly loadSpend: SpendLoader,
    /** This process, as the owner of its holds. */
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly alerts: AlertSink,
  ) {}

  /** Reserves `amount` µ$ against every subject's budget, all or none. */
  async reserve(subjects: readonly BudgetSubject[], amount: number, now: number): Promise<Reservation> {
    const wanted = [];
    for (const s of subjects) wanted.push(await this.allowanceFor(s, now));
    for (;;) {
      // Taken only when every subject has room at once, in one synchronous step, and never
      // while the allowance is being written: the write moves its settled costs out of it.
      const short = wanted.find((w) => !this.fits(w.a, w.limitMicros, amount));
      if (!short) break;
      if (!(await this.makeRoom(short.a, short.limitMicros, amount, now))) {
        const { a } = short;
        const state = this.view(a);
        const failed = checkBudget(a.scope, state, short.limitMicros, amount);
        return { ok: false, failed, checks: [failed], state };
      }
    }
    const holds: LedgerHold[] = [];
    const checks: Check[] = [];
    for (const { a } of wanted) {
      a.inflight += amount;
      a.used = true;
      holds.push({ scope: a.scope, subjectId: a.subjectId, periodKey: a.periodKey, amount });
      checks.push({
        scope: a.scope,
        kind: "budget",
        allowed: true,
        limit: a.limitMicros,
        remaining: Math.max(0, a.limitMicros - a.row.spent - a.row.reserved + free(a)),
        resetAt: a.end,
      });
    }
    return { ok: true, holds, checks };
  }

  /** Replaces the holds with the real cost (0 when the request was never served), in memory. */
  settle(holds: readonly LedgerHold[], actualMicros: number): void {
    for (const h of holds) {
      const a = this.allowances.get(nameOf(h.scope, h.subjectId, h.periodKey));
      if (!a) continue;
      a.inflight -= h.amount;
      a.settled += actualMicros;
    }
  }

  /**
   * Writes every allowance back: settled costs into `spent` (and the budget alerts they
   * cross), spare room unused since the last flush given back, allowances with nothing left
   * forgotten. Run every few hundred ms, and on shutdown with `release` (everything back).
   */
  async flush(now: number, release = false): Promise<void> {
    const writes = [];
    for (const [name, a] of this.allowances) {
      if (a.writing) continue;
      const idle = !a.used || release;
      a.used = false;
      if (a.settled === 0 && !(idle && free(a) > 0)) {
        // Kept while its period runs: a request may hold it between two awaits.
        if (now >= a.end && a.granted === 0 && a.inflight === 0) this.allowances.delete(name);
        continue;
      }
      writes.push(this.serialised(a, () => this.write(a, idle ? "release" : "keep", now)));
    }
    await Promise.all(writes);
  }

  /** Extends the lease of every hold this process has. */
  async renew(now: number): Promise<void> {
    const ids = [...this.allowances.values()].filter((a) => a.granted > 0).map((a) => a.holdId);
    if (!ids.length) return;
    await this.db
      .updateTable("budget_holds")
      .set({ expires_at: now + this.leaseMs })
      .where("owner", "=", this.owner)
      .where("id", "in", ids)
      .execute();
  }

  /** Releases holds whose lease has passed (their holder died); returns how many. */
  async sweep(now: number): Promise<number> {
    const expired = await this.db
      .selectFrom("budget_holds")
      .selectAll()
      .where("expires_at", "<", now)
      .limit(500)
      .execute();
    let released = 0;
    for (const h of expired) {
      // The holder may have settled costs it never wrote back: the usage rows have them.
      const durable = await this.durableSpend(h.scope as Scope, h.subject_id, h.period_key);
      await this.db.transaction().execute(async (trx) => {
        // Guarded: only the process that deletes the hold gives its amount back (a replica
        // sweeping at the same time, or the holder writing late, finds it gone).
        const gone = await trx
          .deleteFrom("budget_holds")
          .where("id", "=", h.id)
          .where("expires_at", "<", now)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) return;
        // Spend only ever grows here: costs other processes have not written back yet are
        // then counted twice until the period ends — too strict for a while, never too lax.
        await trx
          .updateTable("budget_ledger")
          .set({
            reserved: sql<number>`reserved - ${h.amount}`,
            spent: sql<number>`case when spent < ${durable} then ${durable} else spent end`,
          })
          .where("scope", "=", h.scope)
          .where("subject_id", "=", h.subject_id)
          .where("period_key", "=", h.period_key)
          .execute();
        released++;
      });
    }
    return released;
  }

  /** Spent and reserved (by requests in flight anywhere) in the subject's current period. */
  async state(s: Omit<BudgetSubject, "projectId">, now: number): Promise<BudgetState> {
    const budget = s.limits.budget!;
    const { start, end } = this.periods.bounds(budget.period, budget.timezone, now);
    const periodKey = `${budget.period}:${budget.timezone}:${start}`;
    const name = nameOf(s.scope, s.id, periodKey);
    // A write in flight has taken its settled costs out of memory but not yet committed them:
    // a row read now would show neither, and a request just served would look free.
    await this.allowances.get(name)?.writing?.catch(() => undefined);
    const row = await this.ensureRow(s, periodKey, start, end);
    // Looked up again: a request may have opened the allowance while the row was read.
    const a = this.allowances.get(name);
    if (!a) return { start, end, ...row };
    a.row = row;
    return this.view(a);
  }

  /** Writes everything back and gives every hold back (graceful shutdown, after draining). */
  async close(now: number): Promise<void> {
    // A failed write keeps its costs in memory: the final flush below writes them.
    await Promise.all([...this.allowances.values()].map((a) => a.writing?.catch(() => undefined)));
    await this.flush(now, true);
  }

  /** The subject's spend as this process knows it: its own unwritten costs are spent, not held. */
  private view(a: Allowance): BudgetState {
    return {
      start: a.start,
      end: a.end,
      spent: a.row.spent + a.settled,
      reserved: Math.max(0, a.row.reserved - a.settled - free(a)),
    };
  }

  /**
   * Grows the allowance until `amount` fits under `limitMicros` (the budget as the request
   * sees it: a changed budget is re-checked against the store); false when the budget cannot
   * cover it. Waits for a write under way first: it may have made the room.
   */
  private async makeRoom(a: Allowance, limitMicros: number, amount: number, now: number): Promise<boolean> {
    for (;;) {
      if (this.fits(a, limitMicros, amount)) return true;
      if (a.writing) {
        await a.writing.catch(() => undefined); // this request's own write reports a failure
        continue;
      }
      a.limitMicros = limitMicros;
      if (!(await this.serialised(a, () => this.write(a, { grow: amount }, now)))) return false;
      // Grown; concurrent requests waiting for the same write may have taken the room first.
    }
  }

  /** Whether a request of `amount` can be taken from the allowance now. */
  private fits(a: Allowance, limitMicros: number, amount: number): boolean {
    return a.writing === null && a.limitMicros === limitMicros && free(a) >= amount;
  }

  private serialised<T>(a: Allowance, write: () => Promise<T>): Promise<T> {
    const p = write().finally(() => {
      if (a.writing === p) a.writing = null;
    });
    a.writing = p;
    return p;
  }

  /**
   * One store round trip for an allowance, in one transaction: the costs settled since the
   * last write move from the hold into `spent`, and the hold is resized (grown so a request
   * of `grow` fits, kept, or cut to what is in flight). Returns whether a growth fit.
   */
  private async write(a: Allowance, resize: Resize, now: number): Promise<boolean> {
    const settled = a.settled;
    a.settled = 0; // settlements during the write count toward the next one
    try {
      const result = await this.db.transaction().execute((trx) => this.writeIn(trx, a, settled, resize, now));
      a.granted = result.granted;
      a.row = result.row;
      const before = result.row.spent - settled;
      for (const pct of crossedThresholds(before, result.row.spent, a.limitMicros, BUDGET_THRESHOLDS))
        this.alerts.emit(
          thresholdAlert(
            { scope: a.scope, id: a.subjectId, projectId: a.projectId },
            pct,
            result.row.spent,
            a.limitMicros,
            a.start,
            now,
          ),
        );
      return result.fits;
    } catch (err) {
      a.settled += settled;
      throw err;
    }
  }

  private async writeIn(
    trx: Transaction<DB>,
    a: Allowance,
    settled: number,
    resize: Resize,
    now: number,
  ): Promise<{ granted: number; row: { spent: number; reserved: number }; fits: boolean }> {
    const renewed = await trx
      .updateTable("budget_holds")
      .set({ expires_at: now + this.leaseMs })
      .where("id", "=", a.holdId)
      .executeTakeFirst();
    // A hold that is gone was released by a sweep (renewals failed for a lease): the store no
    // longer counts it, so all of what it covered is added back below.
    const base = Number(renewed.numUpdatedRows) === 1 ? a.granted : 0;
    const kept = a.granted - settled; // in flight + spare room, once the settled costs move out
    let granted = resize === "release" ? a.inflight : kept;
    let row: { spent: number; reserved: number } | undefined;
    let fits = true;
    if (typeof resize === "object") {
      fits = false;
      for (let tries = 0; tries < GROW_TRIES && !fits; tries++) {
        const seen = await this.row(a.scope, a.subjectId, a.periodKey, trx);
        if (!seen) break;
        // Left for anyone once this write's own additions (a swept hold's coverage) are in.
        const headroom = a.limitMicros - seen.spent - seen.reserved - (a.granted - base);
        const grow = growth({ granted: kept, inflight: a.inflight, settled: 0 }, resize.grow, headroom);
        if (grow === null) break;
        // The rule this protects: spent + reserved never passes the budget when a hold grows —
        // checked and applied in one statement, so concurrent growths on any replica cannot
        // together pass it (the row lock serializes them; the guard is re-read under it).
        const added = settled + kept + grow - base;
        row = await this.applyRow(trx, a, settled, kept + grow - base, added);
        if (row) {
          granted = kept + grow;
          fits = true;
        }
      }
    }
    // Settled costs are facts and admitted requests are covered already: never refused.
    row ??= await this.applyRow(trx, a, settled, granted - base, null);
    if (!row) throw new Error(`budget ledger row ${a.scope}:${a.subjectId}:${a.periodKey} is missing`);
    if (granted > 0)
      await trx
        .insertInto("budget_holds")
        .values({
          id: a.holdId,
          scope: a.scope,
          subject_id: a.subjectId,
          period_key: a.periodKey,
          amount: granted,
          owner: this.owner,
          expires_at: now + this.leaseMs,
        })
        .onConflict((oc) => oc.column("id").doUpdateSet({ amount: granted, expires_at: now + this.leaseMs }))
        .execute();
    else await trx.deleteFrom("budget_holds").where("id", "=", a.holdId).execute();
    return { granted, row, fits };
  }

  /** spent += settled and reserved += delta, guarded when `added` (their sum) must fit. */
  private async applyRow(
    trx: Transaction<DB>,
    a: Allowance,
    settled: number,
    delta: number,
    added: number | null,
  ): Promise<{ spent: number; reserved: number } | undefined> {
    let q = trx
      .updateTable("budget_ledger")
      .set({ spent: sql<number>`spent + ${settled}`, reserved: sql<number>`reserved + ${delta}` })
      .where("scope", "=", a.scope)
      .where("subject_id", "=", a.subjectId)
      .where("period_key", "=", a.periodKey);
    if (added !== null && added > 0)
      q = q.where(sql<boolean>`spent + reserved + ${added} <= ${a.limitMicros}`);
    const r = await q.returning(["spent", "reserved"]).executeTakeFirst();
    return r ? { spent: Number(r.spent), reserved: Number(r.reserved) } : undefined;
  }

  /** This process's allowance for the subject's current period (its ledger row made sure of). */
  private async allowanceFor(s: BudgetSubject, now: number): Promise<{ a: Allowance; limitMicros: number }> {
    const budget = s.limits.budget!;
    const limitMicros = Math.round(budget.usd * 1_000_000);
    const { start, end } = this.periods.bounds(budget.period, budget.timezone, now);
    const periodKey = `${budget.period}:${budget.timezone}:${start}`;
    const name = nameOf(s.scope, s.id, periodKey);
    let a = this.allowances.get(name);
    if (!a) {
      const row = await this.ensureRow(s, periodKey, start, end);
      a = this.allowances.get(name); // created meanwhile by a concurrent request
      if (!a) {
        a = {
          scope: s.scope,
          subjectId: s.id,
          projectId: s.projectId,
          periodKey,
          start,
          end,
          limitMicros,
          holdId: randomUUID(),
          row,
          granted: 0,
          inflight: 0,
          settled: 0,
          used: false,
          writing: null,
        };
        this.allowances.set(name, a);
      }
    }
    return { a, limitMicros };
  }

  private async row(scope: Scope, id: string, periodKey: string, db: Kysely<DB> = this.db) {
    const row = await db
      .selectFrom("budget_ledger")
      .select(["spent", "reserved"])
      .where("scope", "=", scope)
      .where("subject_id", "=", id)
      .where("period_key", "=", periodKey)
      .executeTakeFirst();
    return row ? { spent: Number(row.spent), reserved: Number(row.reserved) } : undefined;
  }

  /** The period's row, created from the durable spend unless a process did already. */
  private async ensureRow(
    s: Omit<BudgetSubject, "projectId">,
    periodKey: string,
    start: number,
    end: number,
  ) {
    const row = await this.row(s.scope, s.id, periodKey);
    if (row) return row;
    const spent = await this.loadSpend(s.scope, s.id, start, end);
    await this.db
      .insertInto("budget_ledger")
      .values({ scope: s.scope, subject_id: s.id, period_key: periodKey, spent, reserved: 0 })
      .onConflict((oc) => oc.columns(["scope", "subject_id", "period_key"]).doNothing())
      .execute();
    return (await this.row(s.scope, s.id, periodKey)) ?? { spent, reserved: 0 };
  }

  /** The subject's spend in the usage rows for the period of `periodKey` (see ensureRow). */
  private async durableSpend(scope: Scope, id: string, periodKey: string): Promise<number> {
    const [period, timeZone, start] = periodKey.split(":");
    const bounds = this.periods.bounds(period as BudgetPeriod, timeZone!, Number(start));
    return this.loadSpend(scope, id, bounds.start, bounds.end);
  }
}

const nameOf = (scope: Scope, id: string, periodKey: string) => `${scope}:${id}:${periodKey}`;
