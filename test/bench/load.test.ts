import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { percentiles, runJob } from "../../bench/load.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

let mock: MockUpstream;
let origin: string;
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });

beforeAll(async () => {
  mock = await startMockUpstream({ delayMs: 15, chunks: 2 });
  origin = mock.url.replace(/\/v1$/, "");
});
afterAll(async () => {
  await mock.close();
});

describe("bench load generator", () => {
  it("computes nearest-rank percentiles", () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(p).toMatchObject({ n: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(percentiles([]).n).toBe(0);
  });

  it("closed loop: counts completed requests over the window", async () => {
    const before = mock.stats.requests;
    const r = await runJob({
      mode: "closed",
      url: origin,
      path: "/v1/chat/completions",
      body,
      connections: 4,
      seconds: 0.5,
    });
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(50);
    expect(r.statuses["200"]).toBe(r.requests);
    expect(mock.stats.requests - before).toBeGreaterThanOrEqual(r.requests);
    expect(r.rps).toBeCloseTo(r.requests / r.seconds, 5);
  });

  it("open loop: sends exactly rate × seconds on schedule and measures from the schedule", async () => {
    const before = mock.stats.requests;
    const r = await runJob({
      mode: "open",
      url: origin,
      path: "/v1/chat/completions",
      body,
      rate: 200,
      seconds: 1,
      warmupSeconds: 0.1,
    });
    expect(r.requests).toBe(200);
    expect(mock.stats.requests - before).toBe(220);
    expect(r.errors).toBe(0);
    expect(r.samples).toHaveLength(200);
    // latency from the schedule ≥ latency from the actual send
    expect(r.latency.p50).toBeGreaterThanOrEqual(r.service!.p50);
    expect(r.sendLag!.p50).toBeLessThan(5);
  });

  it("counts error statuses", async () => {
    const r = await runJob({
      mode: "closed",
      url: origin,
      path: "/v1/chat/completions",
      body,
      headers: { "x-mock-status": "500" },
      connections: 2,
      seconds: 0.2,
    });
    expect(r.requests).toBeGreaterThan(0);
    expect(r.errors).toBe(r.requests);
    expect(r.firstError).toBe("HTTP 500");
  });

  it("ttfb: first byte arrives long before the stream ends", async () => {
    const r = await runJob({
      mode: "ttfb",
      url: origin,
      path: "/v1/chat/completions",
      body: JSON.stringify({ model: "m", stream: true }),
      count: 6,
      concurrency: 2,
    });
    expect(r.requests).toBe(6);
    expect(r.latency.n).toBe(6);
    // 2 content chunks + finish, 15 ms before each: the stream takes ≥ 45 ms, the first byte does not wait
    expect(r.total!.p50).toBeGreaterThanOrEqual(40);
    expect(r.latency.p50).toBeLessThan(r.total!.p50 / 2);
  });
});
