import { describe, expect, it } from "vitest";
import {
  DEFAULT_ANOMALY_SETTINGS as S,
  detectAnomaly,
  hourlyWindows,
  slidingHour,
  type AnomalyInput,
} from "./anomaly.js";

const base: AnomalyInput = {
  recent: { requests: 50, costMicros: 50_000 },
  baseline: { requests: 168 * 50, costMicros: 168 * 50_000 },
  baselineHours: 168,
  newIps: [],
  hasHistory: true,
};

describe("usage anomaly detector", () => {
  it("is quiet for usual activity", () => {
    expect(detectAnomaly(base, S)).toBeNull();
  });

  it("flags request rate above N× the hourly baseline, above the noise floor", () => {
    const r = detectAnomaly({ ...base, recent: { requests: 251, costMicros: 50_000 } }, S);
    expect(r).toMatchObject({
      reasons: ["request_rate"],
      requests_last_hour: 251,
      baseline_requests_per_hour: 50,
    });
    expect(detectAnomaly({ ...base, recent: { requests: 250, costMicros: 50_000 } }, S)).toBeNull();
  });

  it("ignores spikes below the noise floor, and thin baselines", () => {
    const quiet = { ...base, baseline: { requests: 0, costMicros: 0 } };
    expect(detectAnomaly({ ...quiet, recent: { requests: 99, costMicros: 999_999 } }, S)).toBeNull();
    expect(detectAnomaly({ ...quiet, recent: { requests: 100, costMicros: 1_000_000 } }, S)?.reasons).toEqual(
      ["request_rate", "spend"],
    );
    expect(
      detectAnomaly({ ...quiet, baselineHours: 23, recent: { requests: 1000, costMicros: 9e6 } }, S),
    ).toBeNull();
  });

  it("flags spend above N× the baseline, with the numbers", () => {
    const r = detectAnomaly({ ...base, recent: { requests: 50, costMicros: 5_000_000 } }, S);
    expect(r).toMatchObject({
      reasons: ["spend"],
      cost_usd_last_hour: 5,
      baseline_cost_usd_per_hour: 0.05,
      multiplier: 5,
    });
  });

  it("flags never-seen IPs only when the key has history", () => {
    expect(detectAnomaly({ ...base, newIps: ["203.0.113.9"] }, S)).toMatchObject({
      reasons: ["new_ip"],
      new_ips: ["203.0.113.9"],
    });
    expect(detectAnomaly({ ...base, newIps: ["203.0.113.9"], hasHistory: false }, S)).toBeNull();
  });

  it("honours a configured multiplier", () => {
    const input = { ...base, recent: { requests: 120, costMicros: 50_000 } };
    expect(detectAnomaly(input, S)).toBeNull();
    expect(detectAnomaly(input, { ...S, multiplier: 2 })?.reasons).toEqual(["request_rate"]);
  });
});

describe("the last hour from hourly buckets", () => {
  const H = 3_600_000;
  const T = Date.UTC(2026, 4, 1, 12);

  it("reads the current and previous clock hours, and 168 whole hours before those", () => {
    expect(hourlyWindows(T)).toEqual({
      current: T,
      previous: T - H,
      previousWeight: 1,
      baselineStart: T - 169 * H,
    });
    expect(hourlyWindows(T + 45 * 60_000)).toEqual({
      current: T,
      previous: T - H,
      previousWeight: 0.25,
      baselineStart: T - 169 * H,
    });
    expect(hourlyWindows(T + H - 1).previousWeight).toBeCloseTo(1 / H, 12);
  });

  it("weights the previous hour by the share of it still in the window (sliding-window counter)", () => {
    const previous = { requests: 400, costMicros: 4_000_000 };
    const current = { requests: 30, costMicros: 300_000 };
    // On the hour, the last 60 minutes are exactly the previous hour.
    expect(slidingHour({ requests: 0, costMicros: 0 }, previous, 1)).toEqual(previous);
    // At :45, a quarter of the previous hour is still inside the window.
    expect(slidingHour(current, previous, hourlyWindows(T + 45 * 60_000).previousWeight)).toEqual({
      requests: 130,
      costMicros: 1_300_000,
    });
    // Whole requests and micro-USD.
    expect(slidingHour(current, { requests: 1, costMicros: 1 }, 1 / 3)).toEqual({
      requests: 30,
      costMicros: 300_000,
    });
  });
});
