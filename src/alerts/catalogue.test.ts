import { describe, expect, it } from "vitest";
import { isValidEventFilter, matchesFilters, summarize } from "./catalogue.js";

describe("event catalogue", () => {
  it("validates filters: *, known types, prefix.* that matches something", () => {
    for (const ok of ["*", "budget.threshold", "key.*", "usage.anomaly", "admin_key.*", "key.revoked"])
      expect(isValidEventFilter(ok)).toBe(true);
    for (const bad of ["budget.treshold", "nope.*", "key", "", "**", "key.*.*"])
      expect(isValidEventFilter(bad)).toBe(false);
  });

  it("matches types against filters", () => {
    expect(matchesFilters("key.revoked", ["key.*"])).toBe(true);
    expect(matchesFilters("admin_key.revoked", ["key.*"])).toBe(false);
    expect(matchesFilters("usage.anomaly", ["*"])).toBe(true);
    expect(matchesFilters("usage.anomaly", ["budget.threshold"])).toBe(false);
  });

  it("summarises in one line, naming the key", () => {
    const s = summarize("budget.threshold", "key_1", {
      key_name: "ci",
      masked_key: "kw_live_…abcd",
      threshold_percent: 80,
      spent_usd: 40,
      limit_usd: 50,
    });
    expect(s).toBe('[keyward] key "ci" (kw_live_…abcd) reached 80% of its budget: $40.00 of $50.00');
    expect(summarize("key.revoked", "key_1", { actor_id: "adm_1" })).toBe(
      "[keyward] key.revoked key_1 by adm_1",
    );
    expect(summarize("key.rate_limited", "key_1", {})).not.toContain("\n");
  });
});
