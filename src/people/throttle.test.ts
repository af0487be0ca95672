import { describe, expect, it } from "vitest";
import { ManualClock } from "../core/clock.js";
import { LoginThrottle } from "./throttle.js";

describe("sign-in throttle", () => {
  it("refuses an account after N failures for the rest of the window, then allows again", () => {
    const clock = new ManualClock(1_000_000);
    const t = new LoginThrottle(clock, { maxPerAccount: 3, maxPerIp: 100, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(t.check("a@x", "1.1.1.1").allowed).toBe(true);
      t.recordFailure("a@x", "1.1.1.1");
      clock.advance(1000);
    }
    const refused = t.check("a@x", "2.2.2.2");
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 57 });
    expect(t.check("b@x", "1.1.1.1").allowed).toBe(true);
    clock.advance(57_000);
    expect(t.check("a@x", "1.1.1.1").allowed).toBe(true);
  });

  it("refuses an IP spraying many accounts", () => {
    const clock = new ManualClock(0);
    const t = new LoginThrottle(clock, { maxPerAccount: 100, maxPerIp: 5, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) t.recordFailure(`u${i}@x`, "9.9.9.9");
    expect(t.check("fresh@x", "9.9.9.9").allowed).toBe(false);
    expect(t.check("fresh@x", "8.8.8.8").allowed).toBe(true);
  });

  it("a success clears the account's failures; memory stays bounded", () => {
    const clock = new ManualClock(0);
    const t = new LoginThrottle(clock, { maxPerAccount: 2, maxPerIp: 1000, windowMs: 60_000 }, 50);
    t.recordFailure("a@x", null);
    t.recordSuccess("a@x");
    t.recordFailure("a@x", null);
    expect(t.check("a@x", null).allowed).toBe(true);
    for (let i = 0; i < 500; i++) t.recordFailure(`spray${i}@x`, null);
    expect((t as unknown as { failures: Map<string, number[]> }).failures.size).toBeLessThanOrEqual(50);
  });
});
