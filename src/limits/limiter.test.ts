import { describe, expect, it } from "vitest";
import type { AlertEvent } from "../alerts/types.js";
import { Limiter, type AdmissionRequest } from "./limiter.js";

function setup(spent = 0) {
  const alerts: AlertEvent[] = [];
  const limiter = new Limiter(async () => spent, { emit: (e) => alerts.push(e) });
  return { limiter, alerts };
}

const base: AdmissionRequest = {
  keyId: "key_1",
  projectId: "proj_1",
  keyLimits: null,
  projectLimits: null,
  estimatedTokens: 100,
  worstCostMicros: 1000,
  now: Date.UTC(2026, 0, 1),
};

describe("limiter", () => {
  it("admits exactly rpm requests per window", async () => {
    const { limiter, alerts } = setup();
    const r = { ...base, keyLimits: { rpm: 60 } };
    let ok = 0;
    for (let i = 0; i < 1000; i++) if ((await limiter.admit(r)).ok) ok++;
    expect(ok).toBe(60);
    expect(alerts.filter((a) => a.type === "key.rate_limited")).toHaveLength(940);
    expect(new Set(alerts.map((a) => a.dedupeKey)).size).toBe(1);
    expect((await limiter.admit({ ...r, now: r.now + 60_000 })).ok).toBe(true);
  });

  it("a request refused for tokens consumes no request slot", async () => {
    const { limiter } = setup();
    const r = { ...base, keyLimits: { rpm: 2, tpm: 150 } };
    expect((await limiter.admit(r)).ok).toBe(true); // 1 request, 100 tokens
    const refused = await limiter.admit(r); // 200 tokens > 150
    expect(refused).toMatchObject({ ok: false, failed: { kind: "tokens" } });
    const small = await limiter.admit({ ...r, estimatedTokens: 50 });
    expect(small.ok).toBe(true); // the request slot was still free
    expect((await limiter.admit({ ...r, estimatedTokens: 0 })).ok).toBe(false); // now rpm is used up
  });

  it("budgets reserve worst case, settle real cost, release failures", async () => {
    const { limiter, alerts } = setup(0);
    const r = { ...base, keyLimits: { budget: { usd: 0.005, period: "day" as const, timezone: "UTC" } } }; // 5000 µ$
    const tickets = [];
    for (let i = 0; i < 10; i++) {
      const a = await limiter.admit(r);
      if (a.ok) tickets.push(a.ticket);
    }
    expect(tickets).toHaveLength(5);
    limiter.release(tickets.pop()!, r.now);
    for (const t of tickets) limiter.settle(t, 10, 400, r.now); // 1600 µ$ spent
    const status = await limiter.budgetStatus("key", "key_1", r.keyLimits, r.now);
    expect(status).toMatchObject({ spent_usd: 0.0016, reserved_usd: 0 });
    expect(alerts.filter((a) => a.type === "budget.threshold")).toEqual([]);
    expect(new Set(alerts.filter((a) => a.type === "budget.exceeded").map((a) => a.dedupeKey)).size).toBe(1);
    let admitted = 0;
    for (let i = 0; i < 10; i++) if ((await limiter.admit(r)).ok) admitted++;
    expect(admitted).toBe(3); // (5000 - 1600) / 1000
  });

  it("alerts on budget thresholds once each", async () => {
    const { limiter, alerts } = setup(0);
    const r = { ...base, keyLimits: { budget: { usd: 0.01, period: "month" as const, timezone: "UTC" } } };
    for (let i = 0; i < 4; i++) {
      const a = await limiter.admit(r);
      if (a.ok) limiter.settle(a.ticket, 1, 2600, r.now);
    }
    const thresholds = alerts
      .filter((a) => a.type === "budget.threshold")
      .map((a) => a.data.threshold_percent);
    expect(thresholds).toEqual([50, 80, 100]);
  });

  it("a project budget is shared by all its keys and refuses unknown prices", async () => {
    const { limiter } = setup(4000);
    const projectLimits = { budget: { usd: 0.005, period: "lifetime" as const, timezone: "UTC" } };
    expect((await limiter.admit({ ...base, keyId: "key_a", projectLimits })).ok).toBe(true);
    expect((await limiter.admit({ ...base, keyId: "key_b", projectLimits })).ok).toBe(false);
    expect((await limiter.admit({ ...base, projectLimits, worstCostMicros: null })).ok).toBe(false);
  });

  it("limits concurrency and frees slots on settle", async () => {
    const { limiter } = setup();
    const r = { ...base, keyLimits: { max_concurrent: 2 } };
    const a = await limiter.admit(r);
    const b = await limiter.admit(r);
    expect((await limiter.admit(r)).ok).toBe(false);
    if (a.ok) limiter.settle(a.ticket, 0, 0, r.now);
    expect((await limiter.admit(r)).ok).toBe(true);
    expect(b.ok).toBe(true);
  });
});
