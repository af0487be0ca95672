import { describe, expect, it } from "vitest";
import { decideAfterAttempt, MAX_ATTEMPTS, RETRY_SCHEDULE_SECONDS, retryDelayMs } from "./retry.js";

describe("webhook retry policy", () => {
  it("backs off exponentially-ish, with up to 20% jitter, for about a day", () => {
    expect(retryDelayMs(1, 0)).toBe(10_000);
    expect(retryDelayMs(1, 0.999)).toBeLessThan(12_000);
    expect(retryDelayMs(2, 0)).toBe(30_000);
    expect(retryDelayMs(3, 0)).toBe(120_000);
    const delays = RETRY_SCHEDULE_SECONDS.map((_, i) => retryDelayMs(i + 1, 0)!);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20 * 3600_000);
    expect(total * 1.2).toBeLessThan(30 * 3600_000);
    expect(retryDelayMs(MAX_ATTEMPTS, 0)).toBeNull();
  });

  it("2xx delivers; other statuses and transport errors retry, then fail", () => {
    expect(decideAfterAttempt({ status: 204, error: null }, 1, 0, 0)).toEqual({ outcome: "delivered" });
    expect(decideAfterAttempt({ status: 301, error: null }, 1, 0, 0)).toEqual({
      outcome: "retrying",
      nextAttemptAt: 10_000,
      error: "HTTP 301",
    });
    expect(decideAfterAttempt({ status: null, error: "ECONNREFUSED" }, 2, 1000, 0)).toEqual({
      outcome: "retrying",
      nextAttemptAt: 31_000,
      error: "ECONNREFUSED",
    });
    expect(decideAfterAttempt({ status: 500, error: null }, MAX_ATTEMPTS, 0, 0)).toEqual({
      outcome: "failed",
      error: "HTTP 500",
    });
  });
});
