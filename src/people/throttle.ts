import { createHash, randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { Database } from "../store/database.js";

export interface ThrottleSettings {
  /** Failed sign-ins for one email within the window before it is refused. */
  maxPerAccount: number;
  /** Failed sign-ins from one IP within the window before it is refused. */
  maxPerIp: number;
  windowMs: number;
}

/** Whether a sign-in may be attempted now, and if not, for how long it is refused. */
export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The throttle's rule, purely: with `max` failures of one subject inside the window, sign-in is
 * refused until the oldest of those `max` leaves it. `account` and `ip` are the failure times
 * inside the window, oldest first.
 */
export function decideThrottle(
  account: readonly number[],
  ip: readonly number[] | null,
  settings: ThrottleSettings,
  now: number,
): ThrottleDecision {
  const until = (times: readonly number[], max: number) =>
    times.length >= max ? times[times.length - max]! + settings.windowMs - now : 0;
  const wait = Math.max(until(account, settings.maxPerAccount), ip ? until(ip, settings.maxPerIp) : 0);
  return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
}

/**
 * Sign-in throttling: counts failures per account (the email as typed, lower-cased, whether or
 * not it exists, so the throttle answers alike for unknown emails) and per client IP, in a
 * sliding window. Checked before the password is, so a locked account cannot be guessed at even
 * with the right password. Failures live in the store (table `login_failures`, subjects hashed),
 * so every replica and worker counts the same ones: the bound is the limit, not N × the limit.
 * Sign-in is rare and already pays for Argon2id, so the store round trips cost nothing that
 * matters; rows older than the window are deleted as new failures come.
 */
export class LoginThrottle {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly settings: ThrottleSettings,
  ) {}

  async check(email: string, ip: string | null): Promise<ThrottleDecision> {
    const now = this.clock.now();
    const accountHash = subjectHash("a", email);
    const ipHash = ip === null ? null : subjectHash("i", ip);
    const rows = await this.store.db
      .selectFrom("login_failures")
      .select(["subject_hash", "at"])
      .where("subject_hash", "in", ipHash ? [accountHash, ipHash] : [accountHash])
      .where("at", ">", now - this.settings.windowMs)
      .orderBy("at")
      .execute();
    const timesOf = (hash: string) => rows.filter((r) => r.subject_hash === hash).map((r) => Number(r.at));
    return decideThrottle(timesOf(accountHash), ipHash ? timesOf(ipHash) : null, this.settings, now);
  }

  async recordFailure(email: string, ip: string | null): Promise<void> {
    const now = this.clock.now();
    const subjects = [subjectHash("a", email), ...(ip === null ? [] : [subjectHash("i", ip)])];
    await this.store.db
      .insertInto("login_failures")
      .values(subjects.map((subject_hash) => ({ id: randomUUID(), subject_hash, at: now })))
      .execute();
    await this.store.db
      .deleteFrom("login_failures")
      .where("at", "<=", now - this.settings.windowMs)
      .execute();
  }

  /** A successful sign-in clears the account's failures (not the IP's). */
  async recordSuccess(email: string): Promise<void> {
    await this.store.db
      .deleteFrom("login_failures")
      .where("subject_hash", "=", subjectHash("a", email))
      .execute();
  }
}

/** What a failure is counted against, never stored in the clear (passwords land in email fields). */
function subjectHash(kind: "a" | "i", value: string): string {
  return createHash("sha256").update(`${kind}:${value}`).digest("hex");
}
