import { describe, expect, it } from "vitest";
import { PeriodCache, periodBounds } from "./periods.js";

describe("budget periods", () => {
  const at = Date.UTC(2026, 10, 18, 15, 30); // Wednesday 2026-11-18 15:30 UTC
  it("UTC day, ISO week (Monday) and month", () => {
    expect(periodBounds("day", "UTC", at)).toEqual({
      start: Date.UTC(2026, 10, 18),
      end: Date.UTC(2026, 10, 19),
    });
    expect(periodBounds("week", "UTC", at)).toEqual({
      start: Date.UTC(2026, 10, 16),
      end: Date.UTC(2026, 10, 23),
    });
    expect(periodBounds("month", "UTC", at)).toEqual({
      start: Date.UTC(2026, 10, 1),
      end: Date.UTC(2026, 11, 1),
    });
    expect(periodBounds("lifetime", "UTC", at).start).toBe(0);
  });
  it("honours the time zone, including across DST", () => {
    // 2026-11-18 15:30 UTC is 2026-11-19 00:30 in Tokyo (UTC+9): a new local day.
    const tokyo = periodBounds("day", "Asia/Tokyo", at);
    expect(tokyo.start).toBe(Date.UTC(2026, 10, 18, 15));
    // Berlin: 2026-03-29 is the spring-forward day (23 hours long).
    const berlin = periodBounds("day", "Europe/Berlin", Date.UTC(2026, 2, 29, 12));
    expect(berlin.start).toBe(Date.UTC(2026, 2, 28, 23));
    expect(berlin.end - berlin.start).toBe(23 * 3_600_000);
    const ny = periodBounds("month", "America/New_York", Date.UTC(2026, 10, 1, 3)); // Oct 31, 23:00 local
    expect(ny.start).toBe(Date.UTC(2026, 9, 1, 4));
  });
});

describe("PeriodCache", () => {
  it("answers like periodBounds, inside the period and after it has passed", () => {
    const cache = new PeriodCache();
    const t = Date.UTC(2026, 2, 28, 22, 0); // the evening before Berlin's DST change
    for (const now of [t, t + 3_600_000, t + 86_400_000, t + 40 * 86_400_000])
      for (const period of ["day", "week", "month"] as const)
        expect(cache.bounds(period, "Europe/Berlin", now)).toEqual(
          periodBounds(period, "Europe/Berlin", now),
        );
  });
});
