import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRedisUrl } from "../../test/support/harness.js";
import type { AdmissionRequest } from "./admission.js";
import { RedisRates, type RateSubject } from "./redis-rates.js";

const url = testRedisUrl();

const base: AdmissionRequest = {
  keyId: "key_1",
  projectId: "proj_1",
  keyLimits: null,
  projectLimits: null,
  estimatedTokens: 100,
  worstCostMicros: 0,
  now: Date.UTC(2026, 0, 1),
};

describe.skipIf(!url)("shared rate limits (Lua, real Redis)", () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(url!, { lazyConnect: true });
    await redis.connect();
  });
  afterAll(() => redis.disconnect());

  /** Rates under a prefix of their own: tests never see each other's counters. */
  const prefix = () => `kwtest:${randomBytes(6).toString("hex")}:`;
  const fresh = (leaseMs = 5_000, p = prefix()) => Object.assign(new RedisRates(redis, p, leaseMs), { p });
  const key = (limits: RateSubject["limits"]): RateSubject => ({ scope: "key", id: "key_1", limits });

  it("admits exactly rpm per fixed window, opening a new one at the first request after it closed", async () => {
    const rates = fresh();
    const s = [key({ rpm: 20 })];
    const results = await Promise.all(Array.from({ length: 60 }, () => rates.admit(base, s)));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    const refused = results.find((r) => !r.ok);
    expect(refused).toMatchObject({
      ok: false,
      failed: { kind: "requests", limit: 20, remaining: 0, resetAt: base.now + 60_000 },
    });
    expect((await rates.admit({ ...base, now: base.now + 59_999 }, s)).ok).toBe(false);
    const later = await rates.admit({ ...base, now: base.now + 70_000 }, s);
    expect(later).toMatchObject({
      ok: true,
      checks: [{ kind: "requests", remaining: 19, resetAt: base.now + 130_000 }],
    });
  });

  it("is all-or-nothing across subjects and limits: a refusal consumes nothing", async () => {
    const rates = fresh();
    const s: RateSubject[] = [
      key({ rpm: 5, tpm: 150 }),
      { scope: "project", id: "proj_1", limits: { rpm: 2 } },
    ];
    expect((await rates.admit(base, s)).ok).toBe(true); // key: 1 req 100 tok; project: 1 req
    const tokens = await rates.admit(base, s); // 200 tokens > 150
    expect(tokens).toMatchObject({ ok: false, failed: { scope: "key", kind: "tokens" } });
    expect((await rates.admit({ ...base, estimatedTokens: 50 }, s)).ok).toBe(true); // project slot was still free
    const project = await rates.admit({ ...base, estimatedTokens: 0 }, s);
    expect(project).toMatchObject({ ok: false, failed: { scope: "project", kind: "requests" } });
    // The key's own window saw only the two admitted requests.
    expect(await redis.hget(`${rates.p}key:key_1:rq`, "used")).toBe("2");
  });

  it("settlement corrects the token window it was taken from; refund gives the request back", async () => {
    const rates = fresh();
    const s = [key({ rpm: 2, tpm: 250 })];
    const a = await rates.admit(base, s);
    if (!a.ok) throw new Error("refused");
    await rates.finish(a.ticket, 10, false); // 100 estimated → 10 used
    const b = await rates.admit({ ...base, estimatedTokens: 240 }, s);
    expect(b).toMatchObject({
      ok: true,
      checks: [
        { kind: "requests", remaining: 0 },
        { kind: "tokens", remaining: 0 },
      ],
    });
    if (!b.ok) throw new Error("refused");
    await rates.finish(b.ticket, 0, true); // refused later (a budget): request and tokens back
    expect((await rates.admit({ ...base, estimatedTokens: 240 }, s)).ok).toBe(true);
    // A ticket from a closed window corrects nothing in the next one.
    const c = await rates.admit({ ...base, now: base.now + 60_000, estimatedTokens: 200 }, s);
    if (!c.ok) throw new Error("refused");
    await rates.finish(a.ticket, 0, true); // already finished: no effect
    expect((await rates.admit({ ...base, now: base.now + 60_000, estimatedTokens: 60 }, s)).ok).toBe(false);
  });

  it("concurrency slots are leases: freed on finish, renewed while held, expired after a holder died", async () => {
    const rates = fresh(1_000);
    const s = [key({ max_concurrent: 2 })];
    const a = await rates.admit(base, s);
    const b = await rates.admit(base, s);
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(await rates.admit(base, s)).toMatchObject({
      ok: false,
      failed: { kind: "concurrency", limit: 2 },
    });
    if (!a.ok) throw new Error("refused");
    await rates.finish(a.ticket, 0, false);
    expect(rates.held).toBe(1);
    const c = await rates.admit(base, s);
    expect(c.ok).toBe(true);
    // Renewed: still held after the first lease would have run out.
    await rates.renew(base.now + 900);
    expect((await rates.admit({ ...base, now: base.now + 1_500 }, s)).ok).toBe(false);
    // The holder died (no more renewals): another replica's admission finds the slots expired.
    const other = new RedisRates(redis, rates.p, 1_000);
    expect((await other.admit({ ...base, now: base.now + 1_901 }, s)).ok).toBe(true);
  });

  /** Counts the scripts a process sends (EVAL and EVALSHA): its round trips to Redis. */
  const counted = (rates: RedisRates) => {
    let calls = 0;
    const counting = new Proxy(redis, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if ((prop !== "eval" && prop !== "evalsha") || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    (rates as unknown as { redis: Redis }).redis = counting;
    return () => calls;
  };

  it("far from the limit, one grant serves many requests in memory; idle room goes back", async () => {
    const rates = fresh();
    const calls = counted(rates);
    const s = [key({ rpm: 100_000, tpm: 10_000_000 })];
    for (let i = 0; i < 200; i++) {
      const a = await rates.admit(base, s);
      if (!a.ok) throw new Error("refused");
      await rates.finish(a.ticket, 300, false); // estimated 100 each, 300 used
    }
    expect(calls()).toBe(1);
    // Granted with spare room: Redis counts more than was used until the room comes back.
    expect(Number(await redis.hget(`${rates.p}key:key_1:rq`, "used"))).toBeGreaterThan(200);
    await rates.renew(base.now + 1_000); // used since the last renewal: kept
    await rates.renew(base.now + 2_000); // idle: given back, with the tokens beyond the estimates
    expect(await redis.hget(`${rates.p}key:key_1:rq`, "used")).toBe("200");
    expect(await redis.hget(`${rates.p}key:key_1:tk`, "used")).toBe(String(200 * 300));
  });

  it("processes sharing a limit never pass it together, and near it admit exactly the limit", async () => {
    const p = prefix();
    const [a, b, c] = [fresh(5_000, p), fresh(5_000, p), fresh(5_000, p)];
    const s = [key({ rpm: 50 })];
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => [a, b, c][i % 3]!.admit(base, s)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(await redis.hget(`${p}key:key_1:rq`, "used")).toBe("50");
  });

  it("concurrency slots never exceed the limit across processes; far from it they come in chunks", async () => {
    const p = prefix();
    const [a, b] = [fresh(5_000, p), fresh(5_000, p)];
    const tight = [key({ max_concurrent: 40 })];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => [a, b][i % 2]!.admit(base, tight)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(40);
    expect(await redis.zcard(`${p}key:key_1:cc`)).toBe(40);

    const wide = [{ scope: "project" as const, id: "proj_1", limits: { max_concurrent: 1_000 } }];
    const calls = counted(a);
    const tickets = [];
    for (let i = 0; i < 50; i++) {
      const r = await a.admit(base, wide);
      if (!r.ok) throw new Error("refused");
      tickets.push(r.ticket);
    }
    expect(calls()).toBe(1);
    const held = await redis.zcard(`${p}project:proj_1:cc`);
    expect(held).toBeGreaterThan(50);
    for (const t of tickets) await a.finish(t, 0, false);
    // Finished, the slots stay with the process for its next requests until it goes idle.
    expect(await redis.zcard(`${p}project:proj_1:cc`)).toBe(held);
    await a.renew(base.now + 1_000);
    await a.renew(base.now + 2_000);
    expect(await redis.zcard(`${p}project:proj_1:cc`)).toBe(0);
  });

  it("slots Redis lost (a restart) are dropped at the next renewal, not admitted on", async () => {
    const rates = fresh();
    const s = [key({ max_concurrent: 1_000 })];
    const a = await rates.admit(base, s);
    if (!a.ok) throw new Error("refused");
    expect(rates.held).toBeGreaterThan(1); // the request's slot and spare ones
    await redis.del(`${rates.p}key:key_1:cc`); // what a Redis restart without persistence does
    await rates.renew(base.now + 1_000);
    expect(rates.held).toBe(0); // the one in use too: it is not kept when its request ends
    await rates.finish(a.ticket, 0, false);
    expect(rates.held).toBe(0);
    // Room for the next request comes from Redis again, counted there.
    expect((await rates.admit(base, s)).ok).toBe(true);
    expect(await redis.zcard(`${rates.p}key:key_1:cc`)).toBe(rates.held);
  });

  it("a lease with a request in flight is kept past idle renewals, so its correction still counts", async () => {
    const rates = fresh();
    const s = [key({ tpm: 10_000_000 })];
    const a = await rates.admit(base, s); // a long stream: 100 tokens estimated
    if (!a.ok) throw new Error("refused");
    await rates.renew(base.now + 1_000);
    await rates.renew(base.now + 2_000); // idle: the spare room goes back
    expect(await redis.hget(`${rates.p}key:key_1:tk`, "used")).toBe("100");
    await rates.finish(a.ticket, 900, false); // it used 900
    await rates.renew(base.now + 3_000);
    expect(await redis.hget(`${rates.p}key:key_1:tk`, "used")).toBe("900");
  });
});
