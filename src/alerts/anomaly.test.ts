import { describe, expect, it } from "vitest";
import { DEFAULT_ANOMALY_SETTINGS as S, detectAnomaly, type AnomalyInput } from "./anomaly.js";

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
