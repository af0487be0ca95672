import { describe, expect, it } from "vitest";
import type { Check } from "./decide.js";
import { formatReset, rateLimitHeaders } from "./headers.js";

const check = (c: Pick<Check, "scope" | "kind" | "limit" | "remaining" | "resetAt">): Check => ({
  allowed: true,
  ...c,
});

describe("rateLimitHeaders", () => {
  const now = 1_000_000;

  it("shows the key's own limits over the project's, and the project's where the key has none", () => {
    const headers = rateLimitHeaders(
      [
        check({ scope: "project", kind: "requests", limit: 600, remaining: 10, resetAt: now + 30_000 }),
        check({ scope: "key", kind: "requests", limit: 60, remaining: 59, resetAt: now + 12_500 }),
        check({ scope: "project", kind: "tokens", limit: 90_000, remaining: 89_000, resetAt: now + 65_000 }),
        check({ scope: "key", kind: "budget", limit: 5, remaining: 1, resetAt: now + 1 }),
      ],
      now,
    );
    expect(headers).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "13s",
      "x-ratelimit-limit-tokens": "90000",
      "x-ratelimit-remaining-tokens": "89000",
      "x-ratelimit-reset-tokens": "1m5s",
    });
  });

  it("sets nothing for kinds without a limit", () => {
    expect(rateLimitHeaders([], now)).toEqual({});
  });

  it("formats resets like OpenAI", () => {
    expect([formatReset(20.2), formatReset(-5), formatReset(12_000), formatReset(360_000)]).toEqual([
      "21ms",
      "0ms",
      "12s",
      "6m0s",
    ]);
  });
});
