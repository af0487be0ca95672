import { describe, expect, it } from "vitest";
import {
  checkBudget,
  checkConcurrency,
  checkWindow,
  crossedThresholds,
  liveWindow,
  WINDOW_MS,
} from "./decide.js";

describe("limit decisions", () => {
  it("windows open at first use and close after a minute", () => {
    const w = liveWindow(undefined, 1000);
    expect(w).toEqual({ start: 1000, used: 0 });
    w.used = 5;
    expect(liveWindow(w, 1000 + WINDOW_MS - 1)).toBe(w);
    expect(liveWindow(w, 1000 + WINDOW_MS)).toEqual({ start: 1000 + WINDOW_MS, used: 0 });
  });
  it("a window admits exactly its limit", () => {
    const w = { start: 0, used: 59 };
    expect(checkWindow("key", "requests", w, 60, 1)).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAt: WINDOW_MS,
    });
    w.used = 60;
    expect(checkWindow("key", "requests", w, 60, 1)).toMatchObject({ allowed: false, remaining: 0 });
  });
  it("budgets count reservations of requests in flight", () => {
    const b = { start: 0, end: 10, spent: 600, reserved: 300 };
    expect(checkBudget("project", b, 1000, 100).allowed).toBe(true);
    expect(checkBudget("project", b, 1000, 101).allowed).toBe(false);
  });
  it("concurrency and thresholds", () => {
    expect(checkConcurrency("key", 3, 4, 0).allowed).toBe(true);
    expect(checkConcurrency("key", 4, 4, 0).allowed).toBe(false);
    expect(crossedThresholds(40, 85, 100, [50, 80, 100])).toEqual([50, 80]);
    expect(crossedThresholds(85, 100, 100, [50, 80, 100])).toEqual([100]);
    expect(crossedThresholds(100, 120, 100, [50, 80, 100])).toEqual([]);
  });
});
