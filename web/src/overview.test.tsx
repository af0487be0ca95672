import { describe, expect, it } from "vitest";
import type { Key, UsageRow } from "./api/client";
import {
  budgetsNearLimit,
  dailySeries,
  keysNeedingAttention,
  periodStart,
  spendTrend,
  topKeys,
  usd,
} from "./overview";

const row = (group: string, cost: number, requests = 1, errors = 0): UsageRow => ({
  group,
  name: `name of ${group}`,
  requests,
  errors,
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  cost_micros: Math.round(cost * 1e6),
  cost_usd: cost,
});

const key = (over: Partial<Key>): Key => ({
  id: "key_1",
  object: "api_key",
  project_id: "proj_1",
  name: "k",
  environment: "live",
  status: "active",
  masked_key: "kw_live_…abcd",
  permissions: { mode: "all" },
  allowed_models: null,
  allowed_ips: null,
  metadata: {},
  created_at: "2026-12-01T00:00:00Z",
  created_by: "usr_1",
  updated_at: "2026-12-01T00:00:00Z",
  last_used_at: null,
  expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  limits: null,
  rotated_at: null,
  rotate_by: null,
  stale: false,
  canary: false,
  ...over,
});

const NOW = new Date("2026-12-10T12:00:00Z");

describe("overview figures", () => {
  it("compares this month so far with the same days of last month", () => {
    const days = [row("2026-11-05", 2), row("2026-11-20", 50), row("2026-12-02", 3), row("2026-12-09", 1)];
    const t = spendTrend(days, NOW);
    expect(t.current.costUsd).toBe(4);
    expect(t.previous.costUsd).toBe(2); // 20 November is after the same ten days of November
    expect(t.change).toBe(1);
    expect(spendTrend([row("2026-12-02", 3)], NOW).change).toBeNull();
  });

  it("fills the daily series with zeros, oldest first, ending today", () => {
    const s = dailySeries([row("2026-12-09", 1.5, 4)], NOW, 3);
    expect(s.map((d) => [d.day, d.costUsd, d.requests])).toEqual([
      ["2026-12-08", 0, 0],
      ["2026-12-09", 1.5, 4],
      ["2026-12-10", 0, 0],
    ]);
  });

  it("ranks keys by cost, then requests", () => {
    const top = topKeys([row("a", 1, 1), row("b", 5), row("c", 1, 9)], 2);
    expect(top.map((r) => r.group)).toEqual(["b", "c"]);
  });

  it("starts budget periods at UTC midnight, weeks on Monday", () => {
    expect(periodStart("day", NOW)?.toISOString()).toBe("2026-12-10T00:00:00.000Z");
    expect(periodStart("week", NOW)?.toISOString()).toBe("2026-12-07T00:00:00.000Z");
    expect(periodStart("month", NOW)?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(periodStart("lifetime", NOW)).toBeNull();
  });

  it("lists budgets used 80% or more in their own period", () => {
    const near = key({ id: "key_n", limits: { budget: { usd: 10, period: "day", timezone: "UTC" } } });
    const far = key({ id: "key_f", limits: { budget: { usd: 10, period: "month", timezone: "UTC" } } });
    const spent = {
      day: new Map([["key_n", 9]]),
      month: new Map([
        ["key_f", 2],
        ["key_n", 9],
      ]),
    };
    const out = budgetsNearLimit([near, far, key({ id: "key_none" })], spent);
    expect(out.map((b) => [b.key.id, b.share])).toEqual([["key_n", 0.9]]);
  });

  it("flags overdue, soon-due and stale active keys, never canaries or revoked keys", () => {
    const out = keysNeedingAttention(
      [
        key({ id: "overdue", rotate_by: "2026-12-01T00:00:00Z" }),
        key({ id: "soon", rotate_by: "2026-12-12T00:00:00Z", stale: true }),
        key({ id: "later", rotate_by: "2027-03-01T00:00:00Z" }),
        key({ id: "gone", status: "revoked", stale: true }),
        key({ id: "canary", canary: true, stale: true }),
      ],
      NOW,
    );
    expect(out.map((o) => [o.key.id, o.why])).toEqual([
      ["overdue", "rotation overdue"],
      ["soon", "rotation due soon, stale (unused)"],
    ]);
  });

  it("writes dollars with cents, and tiny amounts with two significant digits", () => {
    expect(usd(0)).toBe("$0.00");
    expect(usd(0.135)).toBe("$0.14");
    expect(usd(0.000123)).toBe("$0.00012");
    expect(usd(12345.6)).toBe("$12,346");
  });
});
