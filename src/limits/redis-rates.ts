import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Limits } from "../core/limits.js";
import type { AdmissionRequest } from "./admission.js";
import type { Check, LimitKind, Scope } from "./decide.js";
import { ADMIT_SCRIPT, FINISH_SCRIPT } from "./rate-scripts.js";

/** A key or project whose rate limits (rpm, tpm, max_concurrent) apply to a request. */
export interface RateSubject {
  scope: Scope;
  id: string;
  limits: Limits;
}

/** Rate allowances a request holds in Redis. */
export interface RedisRateTicket {
  slot: string;
  keys: string[];
  estimatedTokens: number;
  /** Per subject: start of the requests / tokens window it was counted in (-1: none). */
  windows: number[];
  /** Holds a concurrency slot, so its lease is renewed while the request is in flight. */
  concurrent: boolean;
  done: boolean;
}

export type RedisRateDecision =
  { ok: true; ticket: RedisRateTicket; checks: Check[] } | { ok: false; failed: Check; checks: Check[] };

const KINDS: Record<number, LimitKind> = { 1: "requests", 2: "tokens", 3: "concurrency" };

/**
 * Rate limits, concurrency limits and their windows shared by every replica through Redis,
 * decided and applied atomically by one script per admission (rate-scripts.ts) and corrected
 * by one per settlement. Concurrency slots are leases: `renew` pushes the lease of every slot
 * this process holds (the caller runs it on a timer), so a replica that dies frees its slots
 * once `leaseMs` has passed. Errors (Redis unreachable) are thrown to the caller, which
 * applies the configured fallback.
 */
export class RedisRates {
  private readonly instance = randomUUID();
  private next = 0;
  private readonly live = new Set<RedisRateTicket>();
  private readonly shas = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    /** Namespaces this data set's keys (two keyward installations may share one Redis). */
    private readonly prefix: string,
    private readonly leaseMs: number,
  ) {}

  /** True while the connection is up: only then is the shared path tried. */
  get available(): boolean {
    return this.redis.status === "ready";
  }

  async admit(r: AdmissionRequest, subjects: readonly RateSubject[]): Promise<RedisRateDecision> {
    const keys: string[] = [];
    const args: Array<string | number> = [
      r.now,
      this.leaseMs,
      `${this.instance}:${this.next++}`,
      r.estimatedTokens,
    ];
    let concurrent = false;
    for (const s of subjects) {
      const base = `${this.prefix}${s.scope}:${s.id}`;
      keys.push(`${base}:rq`, `${base}:tk`, `${base}:cc`);
      args.push(s.limits.rpm ?? -1, s.limits.tpm ?? -1, s.limits.max_concurrent ?? -1);
      if (s.limits.max_concurrent !== undefined) concurrent = true;
    }
    const out = numbers(await this.run(ADMIT_SCRIPT, keys, args));
    const checks: Check[] = [];
    const windows = subjects.flatMap(() => [-1, -1]);
    for (let i = 1; i + 5 < out.length; i += 6) {
      const kind = KINDS[out[i]!]!;
      const subject = out[i + 1]!;
      const resetAt = out[i + 5]!;
      checks.push({
        scope: subjects[subject]!.scope,
        kind,
        allowed: out[i + 2] === 1,
        limit: out[i + 3]!,
        remaining: out[i + 4]!,
        resetAt,
      });
      if (kind !== "concurrency") windows[2 * subject + (kind === "requests" ? 0 : 1)] = resetAt - 60_000;
    }
    const failed = out[0]! > 0 ? checks[out[0]! - 1] : undefined;
    if (failed) return { ok: false, failed, checks };
    const ticket: RedisRateTicket = {
      slot: String(args[2]),
      keys,
      estimatedTokens: r.estimatedTokens,
      windows,
      concurrent,
      done: false,
    };
    if (concurrent) this.live.add(ticket);
    return { ok: true, ticket, checks };
  }

  /**
   * Served: the token window takes the real count, the slot is freed. Never served: the same
   * with 0 tokens. `refund` also gives the request back (refused later by a budget, so it
   * consumed nothing).
   */
  async finish(ticket: RedisRateTicket, actualTokens: number, refund: boolean): Promise<void> {
    if (ticket.done) return;
    ticket.done = true;
    this.live.delete(ticket);
    await this.run(FINISH_SCRIPT, ticket.keys, [
      ticket.slot,
      ticket.estimatedTokens,
      actualTokens,
      refund ? 1 : 0,
      ...ticket.windows,
    ]);
  }

  /** Extends the lease of every slot this process holds (run every third of the lease). */
  async renew(now: number): Promise<void> {
    if (this.live.size === 0 || !this.available) return;
    const pipeline = this.redis.pipeline();
    for (const t of this.live) {
      for (let i = 2; i < t.keys.length; i += 3) {
        // XX: a slot the lease already dropped (or settlement freed) is not brought back.
        pipeline.zadd(t.keys[i]!, "XX", now + this.leaseMs, t.slot);
        pipeline.pexpire(t.keys[i]!, this.leaseMs * 2);
      }
    }
    await pipeline.exec();
  }

  /** Slots held right now by this process (for tests and metrics). */
  get held(): number {
    return this.live.size;
  }

  /** EVALSHA, loading the script once on a server that does not know it (NOSCRIPT). */
  private async run(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    let sha = this.shas.get(script);
    if (!sha) this.shas.set(script, (sha = createHash("sha1").update(script).digest("hex")));
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return this.redis.eval(script, keys.length, ...keys, ...args);
    }
  }
}

function numbers(reply: unknown): number[] {
  if (!Array.isArray(reply)) throw new Error("unexpected reply from the rate-limit script");
  return reply.map((x) => Number(x));
}
