import { describe, expect, it } from "vitest";
import {
  DAY_MS,
  DEFAULT_ROTATION_POLICY as P,
  isStale,
  rotateBy,
  type PolicyKey,
} from "./rotation-policy.js";

const T0 = Date.UTC(2026, 0, 1);
const k = (over: Partial<PolicyKey> = {}): PolicyKey => ({
  status: "active",
  created_at: T0,
  rotated_at: null,
  last_used_at: null,
  expires_at: null,
  ...over,
});

describe("rotation policy", () => {
  it("rotate_by counts from the last rotation, or creation", () => {
    expect(rotateBy(k(), P)).toBe(T0 + 90 * DAY_MS);
    expect(rotateBy(k({ rotated_at: T0 + DAY_MS }), P)).toBe(T0 + 91 * DAY_MS);
    expect(rotateBy(k(), { ...P, maxAgeDays: null })).toBeNull();
    expect(rotateBy(k({ status: "revoked" }), P)).toBeNull();
  });

  it("stale: active, unexpired, unused (or never used) for staleAfterDays", () => {
    expect(isStale(k(), P, T0 + 30 * DAY_MS - 1)).toBe(false);
    expect(isStale(k(), P, T0 + 30 * DAY_MS)).toBe(true);
    expect(isStale(k({ last_used_at: T0 + 10 * DAY_MS }), P, T0 + 30 * DAY_MS)).toBe(false);
    expect(isStale(k({ status: "disabled" }), P, T0 + 99 * DAY_MS)).toBe(false);
    expect(isStale(k({ expires_at: T0 + DAY_MS }), P, T0 + 99 * DAY_MS)).toBe(false);
    expect(isStale(k(), { ...P, staleAfterDays: null }, T0 + 999 * DAY_MS)).toBe(false);
  });
});
