import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planUsage, spanCover, USAGE_GROUPS } from "./plan.js";
import { DAY_MS, HOUR_MS, KEY_SPANS, ROLLUPS } from "./rollups.js";

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
        fc.boolean(),
        (groupBy, since, until, byKey, byModel) => {
          const plan = planUsage({
            groupBy,
            since,
            until,
            ...(byKey ? { keyId: "key_x" } : {}),
            ...(byModel ? { model: "gpt-4o" } : {}),
          });
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
            // The key spans have no model: only a grouping by key over all keys and models reads them.
            if (!spec.perModel) expect(groupBy === "key" && !byKey && !byModel).toBe(true);
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

  it("groups by key over whole days from the key spans, widest first", () => {
    // T0 (2026-01-01) is day 20,454 since the epoch; days 20,455 and 20,460 are the next
    // multiples of 5 and 15, and 20,475 of 45 (too close to the end for a 45-day span).
    const day = (n: number) => T0 + n * DAY_MS;
    const since = T0 - 2 * HOUR_MS;
    expect(planUsage({ groupBy: "key", since, until: day(50), projectId: "p" })).toEqual([
      { source: "usage_key_hourly", from: since, to: T0 },
      { source: "usage_key_span_1d", from: day(0), to: day(1) },
      { source: "usage_key_span_5d", from: day(1), to: day(6) },
      { source: "usage_key_span_15d", from: day(6), to: day(36) },
      { source: "usage_key_span_5d", from: day(36), to: day(46) },
      { source: "usage_key_span_1d", from: day(46), to: day(50) },
    ]);
  });

  it("covers any run of whole days with aligned, nested spans: at most 16 for 90 days", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 90 }), (start, days) => {
        const from = T0 + start * DAY_MS;
        const to = from + days * DAY_MS;
        const cover = spanCover(from, to);
        expect(cover[0]!.from).toBe(from);
        expect(cover.at(-1)!.to).toBe(to);
        let spans = 0;
        for (const [i, s] of cover.entries()) {
          if (i > 0) expect(s.from).toBe(cover[i - 1]!.to);
          const spec = KEY_SPANS.find((k) => k.table === s.source)!;
          expect(s.from! % spec.grainMs).toBe(0);
          expect((s.to! - s.from!) % spec.grainMs).toBe(0);
          spans += (s.to! - s.from!) / spec.grainMs;
        }
        expect(spans).toBeLessThanOrEqual(16);
      }),
      { numRuns: 3000 },
    );
  });
});
