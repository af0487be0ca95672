import type { Clock } from "../core/clock.js";

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
 * Sign-in throttling: counts failures per account (the email as typed, lower-cased, whether or
 * not it exists, so the throttle answers alike for unknown emails) and per client IP, in a
 * sliding window. Checked before the password is, so a locked account cannot be guessed at even
 * with the right password. In memory, per process: each replica throttles on its own (the
 * documented bound is N replicas × the limit).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: ThrottleSettings,
    /** Bound on tracked keys, so a spray of random emails cannot grow memory without end. */
    private readonly maxKeys = 100_000,
  ) {}

  check(email: string, ip: string | null): ThrottleDecision {
    const now = this.clock.now();
    let wait = 0;
    const account = this.recent(`a:${email}`, now);
    if (account.length >= this.settings.maxPerAccount)
      wait = Math.max(
        wait,
        account[account.length - this.settings.maxPerAccount]! + this.settings.windowMs - now,
      );
    if (ip !== null) {
      const fromIp = this.recent(`i:${ip}`, now);
      if (fromIp.length >= this.settings.maxPerIp)
        wait = Math.max(wait, fromIp[fromIp.length - this.settings.maxPerIp]! + this.settings.windowMs - now);
    }
    return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
  }

  recordFailure(email: string, ip: string | null): void {
    const now = this.clock.now();
    if (this.failures.size >= this.maxKeys) this.prune(now);
    this.push(`a:${email}`, now);
    if (ip !== null) this.push(`i:${ip}`, now);
  }

  /** A successful sign-in clears the account's failures (not the IP's). */
  recordSuccess(email: string): void {
    this.failures.delete(`a:${email}`);
  }

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const kept = list.filter((t) => t > now - this.settings.windowMs);
    if (kept.length) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }

  private push(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    this.failures.set(key, list);
  }

  private prune(now: number): void {
    for (const key of [...this.failures.keys()]) this.recent(key, now);
    // Still full of fresh entries: drop the oldest keys (Map keeps insertion order).
    for (const key of this.failures.keys()) {
      if (this.failures.size < this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}
