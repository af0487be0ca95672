/**
 * How much of a budget one process holds for itself (pure). A process serves its budgeted
 * requests from an *allowance*: one hold in the store (counted in the ledger row's `reserved`
 * like any reservation) that covers its requests in flight, the real costs it settled since it
 * last wrote to the store, and some spare room. Admitting and settling a request then touch
 * only memory; the store is written when the allowance runs out and on a periodic flush.
 */

/** This process's allowance for one subject and period, as amounts in micro-dollars. */
export interface AllowanceAmounts {
  /** The amount of this process's hold in the store. */
  granted: number;
  /** Worst-case costs of this process's admitted requests not yet settled. */
  inflight: number;
  /** Real costs settled here and not yet added to the row's `spent`. */
  settled: number;
}

/** At most this share of what is left of a budget goes to one process's spare room at a time. */
export const SPARE_SHARE = 1 / 8;
/** The spare room of one grant, in requests of the size asked for: bounds what a crash strands. */
export const MAX_SPARE_REQUESTS = 1_000;

/** Room left in an allowance for more requests. */
export function free(a: AllowanceAmounts): number {
  return a.granted - a.inflight - a.settled;
}

/**
 * How much to add to an allowance so that a request of `amount` fits, or null when what is
 * left of the budget (`headroom`: limit − spent − reserved across every process) cannot cover
 * it. Adds what is missing plus spare room in whole requests of `amount`, at most SPARE_SHARE
 * of the rest: far from the limit one store write serves many requests; close to it the spare
 * shrinks to nothing and each request is reserved on its own, so no process sits on room that
 * another one's requests need (and, with equal requests, exactly as many fit as the budget
 * allows whichever process serves them).
 */
export function growth(a: AllowanceAmounts, amount: number, headroom: number): number | null {
  const short = Math.max(0, amount - free(a));
  if (short > headroom) return null;
  if (amount <= 0) return short;
  const spareRequests = Math.min(MAX_SPARE_REQUESTS, Math.floor(((headroom - short) * SPARE_SHARE) / amount));
  return short + spareRequests * amount;
}
