import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

const MAX_TOKENS = 1000;

/**
 * A chat request whose body is exactly `bytes` long, and the usage header that makes the mock
 * report the request's worst case (prompt tokens = body bytes, completion = max_tokens): then
 * a budget of N × cost admits exactly N requests.
 */
function sizedRequest(bytes: number) {
  const shell = JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: MAX_TOKENS,
    messages: [{ role: "user", content: "" }],
  });
  const body = JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: MAX_TOKENS,
    messages: [{ role: "user", content: "x".repeat(bytes - shell.length) }],
  });
  expect(Buffer.byteLength(body)).toBe(bytes);
  // gpt-4o-mini: 0.15 µ$ per input token, 0.60 per output token.
  return { body, usage: `${bytes},${MAX_TOKENS}`, costMicros: bytes * 0.15 + MAX_TOKENS * 0.6 };
}

describe.each(testDialects())("rate limits and budgets (%s)", (dialect) => {
  let mock: MockUpstream;
  let t: TestServer;
  let projectId: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer(dialect, {
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-mock", logLevel: "warn" },
    });
    projectId = (await t.client.createProject({ name: "limited" })).id;
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
  });

  const send = (key: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body,
    });

  async function spendOf(column: "key_id" | "project_id", id: string): Promise<number> {
    await t.ctx.usage.flush();
    const r = await t.ctx.store.db
      .selectFrom("usage_events")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_micros"), eb.lit(0)).as("s"))
      .where(column, "=", id)
      .executeTakeFirstOrThrow();
    return Number(r.s);
  }

  it("200 concurrent requests against a key budget for 50: at most 50 served, spend ≤ budget (3 runs)", async () => {
    const req = sizedRequest(2000);
    const budgetUsd = (50 * req.costMicros) / 1_000_000;
    for (let run = 0; run < 3; run++) {
      const k = await t.client.createKey(projectId, {
        name: `budget-${run}`,
        limits: { budget: { usd: budgetUsd, period: "month", timezone: "UTC" } },
      });
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => send(k.key, req.body, { "x-mock-usage": req.usage })),
      );
      const served = responses.filter((r) => r.status === 200).length;
      const refused = responses.filter((r) => r.status === 429);
      expect(served).toBe(50);
      expect(refused).toHaveLength(150);
      const err = (await refused[0]!.json()) as { error: { code: string; type: string } };
      expect(err.error).toMatchObject({ code: "budget_exceeded", type: "insufficient_quota" });
      expect(await spendOf("key_id", k.id)).toBeLessThanOrEqual(budgetUsd * 1_000_000);
    }
  });

  it("a project budget is shared by several keys and never overshot", async () => {
    const req = sizedRequest(1000);
    const budgetUsd = (50 * req.costMicros) / 1_000_000;
    const p = await t.client.createProject({
      name: "shared-budget",
      limits: { budget: { usd: budgetUsd, period: "day", timezone: "Europe/Berlin" } },
    });
    const keys = await Promise.all([1, 2, 3, 4].map((i) => t.client.createKey(p.id, { name: `k${i}` })));
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send(keys[i % 4]!.key, req.body, { "x-mock-usage": req.usage })),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(50);
    expect(await spendOf("project_id", p.id)).toBeLessThanOrEqual(budgetUsd * 1_000_000);
    const project = (await t.client.getProject(p.id)) as { limits: unknown };
    expect(project.limits).toMatchObject({ budget: { period: "day", timezone: "Europe/Berlin" } });
  });

  it("a budget set later counts the spend already recorded in its period", async () => {
    const req = sizedRequest(1000);
    const k = await t.client.createKey(projectId, { name: "late-budget" });
    for (let i = 0; i < 10; i++)
      expect((await send(k.key, req.body, { "x-mock-usage": req.usage })).status).toBe(200);
    await t.ctx.usage.flush();
    // Room for exactly 5 more on top of the 10 already spent this month.
    await t.client.updateKey(k.id, {
      limits: { budget: { usd: (15 * req.costMicros) / 1_000_000, period: "month" } },
    });
    const statuses = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await send(k.key, req.body, { "x-mock-usage": req.usage })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  });

  it("a 60 RPM key admits exactly 60 of a 1,000-request burst, headers counting down", async () => {
    const k = await t.client.createKey(projectId, { name: "rpm", limits: { rpm: 60 } });
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => send(k.key, body)));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(60);
    const remaining = ok
      .map((r) => Number(r.headers.get("x-ratelimit-remaining-requests")))
      .sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const r of ok) expect(r.headers.get("x-ratelimit-limit-requests")).toBe("60");
    const limited = responses.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(ms|s|m\d+s)$/);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
  });

  it("a request refused for tokens does not consume a request slot", async () => {
    const k = await t.client.createKey(projectId, { name: "tpm", limits: { rpm: 3, tpm: 2000 } });
    const big = JSON.stringify({
      model: "gpt-4o-mini",
      max_tokens: 5000,
      messages: [{ role: "user", content: "x" }],
    });
    const small = JSON.stringify({
      model: "gpt-4o-mini",
      max_tokens: 100,
      messages: [{ role: "user", content: "x" }],
    });
    expect((await send(k.key, big)).status).toBe(429);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await send(k.key, small)).status);
    expect(results).toEqual([200, 200, 200]);
    expect((await send(k.key, small)).status).toBe(429);
  });

  it("the official SDK sees RateLimitError; concurrency limits free their slot", async () => {
    const k = await t.client.createKey(projectId, { name: "conc", limits: { max_concurrent: 1 } });
    const sdk = new OpenAI({ apiKey: k.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const slow = sdk.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
      { headers: { "x-mock-latency-ms": "300" } },
    );
    await new Promise((r) => setTimeout(r, 50));
    await expect(
      sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await slow;
    await expect(
      sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    ).resolves.toBeTruthy();
  });

  it("limits are validated, shown on the key and audited", async () => {
    await expect(t.client.createKey(projectId, { name: "bad", limits: { rpm: 0 } })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      t.client.createKey(projectId, {
        name: "bad",
        limits: { budget: { usd: 5, period: "month", timezone: "Mars/Olympus" } },
      }),
    ).rejects.toMatchObject({ status: 400 });
    const k = await t.client.createKey(projectId, { name: "lim", limits: { rpm: 5 } });
    const updated = await t.client.updateKey(k.id, {
      limits: { rpm: 10, budget: { usd: 1, period: "week" } },
    });
    expect(updated.limits).toEqual({ rpm: 10, budget: { usd: 1, period: "week", timezone: "UTC" } });
    const audit = await t.client.listAudit({ target_id: k.id, action: "key.updated" });
    expect(audit.data[0]!.changes).toMatchObject({
      before: { limits: { rpm: 5 } },
      after: { limits: { rpm: 10 } },
    });
  });
});
