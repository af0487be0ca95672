import { randomUUID } from "node:crypto";
import { sql, type Kysely, type Transaction } from "kysely";
import type { Limits } from "../core/limits.js";
import type { DB } from "../store/schema.js";
import { BatchedTransactions } from "./batched-transactions.js";
import { checkBudget, type BudgetState, type Check, type Scope } from "./decide.js";
import type { SpendLoader } from "./limiter.js";
import { PeriodCache } from "./periods.js";

/** A subject (key or project) with a budget. */
export interface BudgetSubject {
  scope: Scope;
  id: string;
  limits: Limits;
}

/** One reservation this process holds in the store. */
export interface LedgerHold {
  id: string;
  scope: Scope;
  subjectId: string;
  periodKey: string;
  amount: number;
  limitMicros: number;
  start: number;
}

export type Reservation =
  | { ok: true; holds: LedgerHold[]; checks: Check[] }
  | { ok: false; failed: Check; checks: Check[]; state: BudgetState };

/** What settling one hold did to its subject's spend (for the threshold alerts). */
export interface Settled {
  hold: LedgerHold;
  before: number;
  after: number;
}

interface ReserveOp {
  holds: LedgerHold[];
  amount: number;
  now: number;
}
/** Null: reserved against every subject; else the index of the subject that refused. */
interface ReserveResult {
  refused: number | null;
  after: number[];
}
interface SettleOp {
  holds: readonly LedgerHold[];
  actualMicros: number;
}

/**
 * Budgets shared by every process on one store, through the store itself (SQLite or
 * PostgreSQL), so they hold across replicas and survive a Redis outage.
 *
 * One row per subject and period (`budget_ledger`: spent, reserved), created from the durable
 * spend (the usage rows) the first time the period is used, and one row per reservation
 * (`budget_holds`), whose expiry the holder renews while its request is in flight. Reserving is
 * one guarded update per subject with the insert of the hold; settling swaps the hold for the
 * real cost; both run in transactions shared by the requests that arrive together (group
 * commit, see BatchedTransactions); `sweep` releases the holds of a process that
 * died, once their lease has passed.
 */
export class BudgetLedger {
  /** Period rows known to exist (skips the existence check on later requests). */
  private readonly known = new Set<string>();
  private readonly live = new Set<string>();
  private readonly periods = new PeriodCache();
  /** Reservations and settlements of concurrent requests share a transaction (group commit). */
  private readonly reservations: BatchedTransactions<ReserveOp, ReserveResult>;
  private readonly settlements: BatchedTransactions<SettleOp, Settled[]>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly loadSpend: SpendLoader,
    /** This process, as the owner of its holds. */
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {
    this.reservations = new BatchedTransactions(db, (trx, op) => this.reserveIn(trx, op));
    this.settlements = new BatchedTransactions(db, (trx, op) => this.settleIn(trx, op));
  }

  /**
   * One request's reservation inside a batch's transaction: every subject or none. A refusal
   * gives back what this request took of the subjects before it (in the same transaction), so
   * it never rolls back the other requests of the batch.
   */
  private async reserveIn(trx: Transaction<DB>, { holds, amount, now }: ReserveOp): Promise<ReserveResult> {
    const after: number[] = [];
    for (const [i, h] of holds.entries()) {
      // The rule this protects: spent + reserved + this reservation <= the budget, checked
      // and applied in one statement, so concurrent reservations on any replica can never
      // together pass it (the row lock serializes them; the guard is re-read under it).
      const r = await trx
        .updateTable("budget_ledger")
        .set({ reserved: sql<number>`reserved + ${amount}` })
        .where("scope", "=", h.scope)
        .where("subject_id", "=", h.subjectId)
        .where("period_key", "=", h.periodKey)
        .where(sql<boolean>`spent + reserved + ${amount} <= ${h.limitMicros}`)
        .returning(["spent", "reserved"])
        .executeTakeFirst();
      if (!r) {
        for (const taken of holds.slice(0, i))
          await trx
            .updateTable("budget_ledger")
            .set({ reserved: sql<number>`reserved - ${amount}` })
            .where("scope", "=", taken.scope)
            .where("subject_id", "=", taken.subjectId)
            .where("period_key", "=", taken.periodKey)
            .execute();
        return { refused: i, after: [] };
      }
      after.push(Number(r.spent) + Number(r.reserved));
    }
    await trx
      .insertInto("budget_holds")
      .values(
        holds.map((h) => ({
          id: h.id,
          scope: h.scope,
          subject_id: h.subjectId,
          period_key: h.periodKey,
          amount,
          owner: this.owner,
          expires_at: now + this.leaseMs,
        })),
      )
      .execute();
    return { refused: null, after };
  }

  /** One request's settlement inside a batch's transaction: its holds become the real cost. */
  private async settleIn(trx: Transaction<DB>, { holds, actualMicros }: SettleOp): Promise<Settled[]> {
    const settled: Settled[] = [];
    for (const h of holds) {
      const gone = await trx.deleteFrom("budget_holds").where("id", "=", h.id).executeTakeFirst();
      // A hold the sweep released already (its lease ran out) was given back by the sweep.
      const held = Number(gone.numDeletedRows) === 1 ? h.amount : 0;
      const row = await trx
        .updateTable("budget_ledger")
        .set({ spent: sql<number>`spent + ${actualMicros}`, reserved: sql<number>`reserved - ${held}` })
        .where("scope", "=", h.scope)
        .where("subject_id", "=", h.subjectId)
        .where("period_key", "=", h.periodKey)
        .returning("spent")
        .executeTakeFirst();
      const after = Number(row?.spent ?? 0);
      settled.push({ hold: h, before: after - actualMicros, after });
    }
    return settled;
  }

  /** Reserves `amount` µ$ against every subject's budget, all or none. */
  async reserve(subjects: readonly BudgetSubject[], amount: number, now: number): Promise<Reservation> {
    const planned = [];
    for (const s of subjects) {
      const budget = s.limits.budget!;
      const { start, end } = this.periods.bounds(budget.period, budget.timezone, now);
      const periodKey = `${budget.period}:${budget.timezone}:${start}`;
      await this.ensureRow(s, periodKey, start, end);
      planned.push({ s, periodKey, start, end, limitMicros: Math.round(budget.usd * 1_000_000) });
    }
    const holds: LedgerHold[] = planned.map((p) => ({
      id: randomUUID(),
      scope: p.s.scope,
      subjectId: p.s.id,
      periodKey: p.periodKey,
      amount,
      limitMicros: p.limitMicros,
      start: p.start,
    }));
    const result = await this.reservations.run({ holds, amount, now });
    if (result.refused !== null) {
      const p = planned[result.refused]!;
      const row = await this.row(p.s.scope, p.s.id, p.periodKey);
      const state = { start: p.start, end: p.end, spent: row?.spent ?? 0, reserved: row?.reserved ?? 0 };
      const failed = checkBudget(p.s.scope, state, p.limitMicros, amount);
      return { ok: false, failed, checks: [failed], state };
    }
    const after = result.after;
    for (const h of holds) this.live.add(h.id);
    const checks = planned.map((p, i) => ({
      scope: p.s.scope,
      kind: "budget" as const,
      allowed: true,
      limit: p.limitMicros,
      remaining: Math.max(0, p.limitMicros - after[i]!),
      resetAt: p.end,
    }));
    return { ok: true, holds, checks };
  }

  /** Replaces the holds with the real cost (0 when the request was never served). */
  async settle(holds: readonly LedgerHold[], actualMicros: number): Promise<Settled[]> {
    // Until this commits the holds stay live (renewed): a failed settlement keeps its
    // reservation counted, never less, while the caller retries.
    const settled = await this.settlements.run({ holds, actualMicros });
    for (const h of holds) this.live.delete(h.id);
    return settled;
  }

  /** Stops renewing the holds (given up on: they expire with their lease, then are swept). */
  abandon(holds: readonly LedgerHold[]): void {
    for (const h of holds) this.live.delete(h.id);
  }

  /** Extends the lease of every hold this process has in flight. */
  async renew(now: number): Promise<void> {
    if (this.live.size === 0) return;
    await this.db
      .updateTable("budget_holds")
      .set({ expires_at: now + this.leaseMs })
      .where("owner", "=", this.owner)
      .where("id", "in", [...this.live])
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
      await this.db.transaction().execute(async (trx) => {
        // Guarded: only the process that deletes the hold gives its amount back (a replica
        // sweeping at the same time, or a late settlement, finds it gone).
        const gone = await trx
          .deleteFrom("budget_holds")
          .where("id", "=", h.id)
          .where("expires_at", "<", now)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) return;
        await trx
          .updateTable("budget_ledger")
          .set({ reserved: sql<number>`reserved - ${h.amount}` })
          .where("scope", "=", h.scope)
          .where("subject_id", "=", h.subject_id)
          .where("period_key", "=", h.period_key)
          .execute();
        released++;
      });
    }
    return released;
  }

  /** Spent and reserved in the subject's current period. */
  async state(s: BudgetSubject, now: number): Promise<BudgetState> {
    const budget = s.limits.budget!;
    const { start, end } = this.periods.bounds(budget.period, budget.timezone, now);
    const periodKey = `${budget.period}:${budget.timezone}:${start}`;
    await this.ensureRow(s, periodKey, start, end);
    const row = await this.row(s.scope, s.id, periodKey);
    return { start, end, spent: row?.spent ?? 0, reserved: row?.reserved ?? 0 };
  }

  /** Holds this process has in flight. */
  get held(): number {
    return this.live.size;
  }

  private async row(scope: Scope, id: string, periodKey: string) {
    const row = await this.db
      .selectFrom("budget_ledger")
      .select(["spent", "reserved"])
      .where("scope", "=", scope)
      .where("subject_id", "=", id)
      .where("period_key", "=", periodKey)
      .executeTakeFirst();
    return row ? { spent: Number(row.spent), reserved: Number(row.reserved) } : undefined;
  }

  /** Creates the period's row from the durable spend, unless a process did already. */
  private async ensureRow(s: BudgetSubject, periodKey: string, start: number, end: number): Promise<void> {
    const name = `${s.scope}:${s.id}:${periodKey}`;
    if (this.known.has(name)) return;
    if (!(await this.row(s.scope, s.id, periodKey))) {
      const spent = await this.loadSpend(s.scope, s.id, start, end);
      await this.db
        .insertInto("budget_ledger")
        .values({ scope: s.scope, subject_id: s.id, period_key: periodKey, spent, reserved: 0 })
        .onConflict((oc) => oc.columns(["scope", "subject_id", "period_key"]).doNothing())
        .execute();
    }
    this.known.add(name);
    if (this.known.size > 100_000) this.known.clear();
  }
}
