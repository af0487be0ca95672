import { describe, expect, it } from "vitest";
import { MAX_SPARE_REQUESTS, free, growth } from "./allowance.js";

describe("allowance growth", () => {
  const empty = { granted: 0, inflight: 0, settled: 0 };

  it("far from the limit: what is missing plus whole requests of spare, an eighth of the rest at most", () => {
    expect(growth(empty, 100, 81_000)).toBe(100 + 101 * 100); // (81,000 - 100) / 8 = 10,112: 101 whole requests
    expect(growth(empty, 100, 1e12)).toBe(100 + MAX_SPARE_REQUESTS * 100);
  });

  it("near the limit: exactly what the request is missing, room already held counts", () => {
    expect(growth(empty, 100, 500)).toBe(100);
    expect(growth({ granted: 100, inflight: 40, settled: 30 }, 100, 500)).toBe(70); // 30 free
    expect(free({ granted: 100, inflight: 40, settled: 30 })).toBe(30);
  });

  it("null when what is left cannot cover it; a lowered budget (negative headroom) refuses too", () => {
    expect(growth(empty, 100, 99)).toBeNull();
    expect(growth({ granted: 500, inflight: 0, settled: 0 }, 100, -50)).toBeNull();
  });
});
