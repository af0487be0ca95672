import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planUsage, USAGE_GROUPS } from "./plan.js";
import { DAY_MS, HOUR_MS, ROLLUPS } from "./rollups.js";

const T0 = Date.UTC(2026, 0, 1);
const timeArb = fc.oneof(
  fc.integer({ min: T0, max: T0 + 60 * DAY_MS }),
  fc.integer({ min: 0, max: 60 * 24 }).map((h) => T0 + h * HOUR_MS),
);

describe("planUsage", () => {
  it("covers [since, until) exactly once, rollups on whole buckets, raw only at the edges", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...USAGE_GROUPS),
        fc.option(timeArb, { nil: undefined }),
        fc.option(timeArb, { nil: undefined }),
        fc.boolean(),
        (groupBy, since, until, byKey) => {
          const plan = planUsage({ groupBy, since, until, ...(byKey ? { keyId: "key_x" } : {}) });
          if (since !== undefined && until !== undefined && since >= until) {
            expect(plan).toEqual([]);
            return;
          }
          // Contiguous, in order, from `since` to `until` (open ends stay open).
          expect(plan[0]!.from).toBe(since);
          expect(plan.at(-1)!.to).toBe(until);
          for (let i = 1; i < plan.length; i++) expect(plan[i]!.from).toBe(plan[i - 1]!.to);
          let rawMs = 0;
          for (const s of plan) {
            if (s.from !== undefined && s.to !== undefined) expect(s.from).toBeLessThan(s.to);
            if (s.source === "usage_events") {
              rawMs += (s.to ?? Infinity) - (s.from ?? -Infinity);
              continue;
            }
            const spec = ROLLUPS.find((r) => r.table === s.source)!;
            if (s.from !== undefined) expect(s.from % spec.grainMs).toBe(0);
            if (s.to !== undefined) expect(s.to % spec.grainMs).toBe(0);
            if (groupBy === "hour") expect(spec.grainMs).toBe(HOUR_MS);
            // A key filter or key grouping needs the per-key tables; nothing else does.
            expect(spec.perKey).toBe(groupBy === "key" || byKey);
          }
          // Raw events are read only for the partial hours at each edge.
          expect(rawMs).toBeLessThan(2 * HOUR_MS);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("answers from raw events alone when asked", () => {
    expect(planUsage({ groupBy: "day", since: 5, until: 10 }, { rollups: false })).toEqual([
      { source: "usage_events", from: 5, to: 10 },
    ]);
  });

  it("uses the daily rollup for whole days and hourly for the rest", () => {
    const since = T0 + 90 * 60_000; // 01:30
    const until = T0 + 3 * DAY_MS + 2 * HOUR_MS + 5; // day 3, 02:00:00.005
    expect(planUsage({ groupBy: "model", since, until })).toEqual([
      { source: "usage_events", from: since, to: T0 + 2 * HOUR_MS },
      { source: "usage_project_hourly", from: T0 + 2 * HOUR_MS, to: T0 + DAY_MS },
      { source: "usage_project_daily", from: T0 + DAY_MS, to: T0 + 3 * DAY_MS },
      { source: "usage_project_hourly", from: T0 + 3 * DAY_MS, to: T0 + 3 * DAY_MS + 2 * HOUR_MS },
      { source: "usage_events", from: T0 + 3 * DAY_MS + 2 * HOUR_MS, to: until },
    ]);
  });
});
