import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

const PROVIDER_KEY = "sk-proj-mockProviderKey0123456789abcdefT3BlbkFJmock";

async function usageRows(t: TestServer) {
  await t.ctx.usage.flush();
  return t.ctx.store.db.selectFrom("usage_events").selectAll().orderBy("ts").execute();
}

/** The usage row of one request, once it has been written. */
async function usageRow(t: TestServer, requestId: string) {
  let row;
  await expect
    .poll(async () => {
      await t.ctx.usage.flush();
      row = await t.ctx.store.db
        .selectFrom("usage_events")
        .selectAll()
        .where("request_id", "=", requestId)
        .executeTakeFirst();
      return row !== undefined;
    })
    .toBe(true);
  return row!;
}

/** Sends a path exactly as written (no client-side normalisation) and returns the status. */
function rawStatus(baseUrl: string, path: string, key: string): Promise<number> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, method: "POST", headers: { authorization: `Bearer ${key}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe.each(testDialects())("OpenAI-compatible gateway with the official SDK (%s)", (dialect) => {
  let mock: MockUpstream;
  let t: TestServer;
  let projectId: string;
  let secret: string;
  let keyId: string;
  let sdk: OpenAI;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer(dialect, {
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: PROVIDER_KEY, upstreamTimeoutMs: 1000 },
    });
    projectId = (await t.client.createProject({ name: "gw" })).id;
    const k = await t.client.createKey(projectId, { name: "app" });
    secret = k.key;
    keyId = k.id;
    sdk = new OpenAI({ apiKey: secret, baseURL: `${t.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
  });
  beforeEach(() => mock.setOptions({ delayMs: 0, hang: false }));

  it("chat completions: the upstream sees the real provider key, never the keyward key", async () => {
    const r = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(r.choices[0]?.message.content).toBeTruthy();
    expect(r.usage?.prompt_tokens).toBeGreaterThan(0);
    const seen = mock.stats.lastRequest!.headers;
    expect(seen.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    const everything = JSON.stringify(mock.stats.recentHeaders);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain("kw_live_");
  });

  it("streamed chat completions arrive chunk by chunk, before the upstream finishes", async () => {
    mock.setOptions({ delayMs: 150, chunks: 4 });
    const started = Date.now();
    const stream = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
    });
    const arrivals: number[] = [];
    let sawUsageChunk = false;
    for await (const chunk of stream) {
      arrivals.push(Date.now() - started);
      if (chunk.choices.length === 0) sawUsageChunk = true;
    }
    // The first chunk came long before the last: nothing was buffered.
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThanOrEqual(300);
    // keyward asked for usage itself and stripped that chunk, since the client did not ask.
    expect(sawUsageChunk).toBe(false);
    const body = JSON.parse(mock.stats.lastRequest!.body.toString()) as {
      stream_options?: { include_usage?: boolean };
    };
    expect(body.stream_options?.include_usage).toBe(true);
    const rows = await usageRows(t);
    const last = rows.at(-1)!;
    expect(last).toMatchObject({ streamed: 1, status: 200, model: "gpt-4o-mini", key_id: keyId });
    expect(Number(last.completion_tokens)).toBe(8);
  });

  it("a client that asks for stream usage gets the usage chunk", async () => {
    const stream = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: unknown = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) });
  });

  it("responses, embeddings and models list work through the SDK", async () => {
    const resp = await sdk.responses.create({ model: "gpt-4o-mini", input: "hi" });
    expect(resp.usage?.input_tokens).toBeGreaterThan(0);
    const emb = await sdk.embeddings.create({ model: "text-embedding-3-small", input: "vector me" });
    expect(emb.data[0]?.embedding.length).toBeGreaterThan(0);
    const models = await sdk.models.list();
    expect(models.data.map((m) => m.id)).toContain("gpt-4o-mini");
  });

  it("meters tokens and cost exactly as the upstream reported them", async () => {
    const before = (await usageRows(t)).length;
    const r = await sdk.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "count me" }] },
      { headers: { "x-mock-usage": "1000,500,200" } },
    );
    expect(r.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    const rows = await usageRows(t);
    expect(rows.length).toBe(before + 1);
    const row = rows.at(-1)!;
    expect([Number(row.prompt_tokens), Number(row.completion_tokens), Number(row.cached_tokens)]).toEqual([
      1000, 500, 200,
    ]);
    // gpt-4o-mini: 0.15 / 0.075 cached / 0.60 per 1M tokens → micro-dollars.
    expect(Number(row.cost_micros)).toBe(Math.round(800 * 0.15 + 200 * 0.075 + 500 * 0.6));
    expect(row.request_id).toBeTruthy();
  });

  it("usage is queryable by model, key and day", async () => {
    await t.ctx.usage.flush();
    const rows = await t.ctx.store.db
      .selectFrom("usage_events")
      .selectAll()
      .where("key_id", "=", keyId)
      .execute();
    const byModel = await t.client.usage({ group_by: "model", key_id: keyId });
    const total = byModel.data.reduce((n, r) => n + r.requests, 0);
    expect(total).toBe(rows.length);
    const mini = byModel.data.find((r) => r.group === "gpt-4o-mini")!;
    const miniRows = rows.filter((r) => r.model === "gpt-4o-mini");
    expect(mini.prompt_tokens).toBe(miniRows.reduce((n, r) => n + Number(r.prompt_tokens), 0));
    expect(mini.cost_micros).toBe(miniRows.reduce((n, r) => n + Number(r.cost_micros), 0));
    const byDay = await t.client.usage({ group_by: "day" });
    expect(byDay.data[0]!.group).toMatch(/T00:00:00.000Z$/);
    const byKey = await t.client.usage({ group_by: "key" });
    expect(byKey.data.map((r) => r.group)).toContain(keyId);
  });

  it("an invalid key raises AuthenticationError; a revoked key fails on the next request", async () => {
    const bad = new OpenAI({ apiKey: "kw_live_notarealkey", baseURL: `${t.url}/v1`, maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const k = await t.client.createKey(projectId, { name: "short-lived" });
    const c = new OpenAI({ apiKey: k.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await expect(c.models.list()).resolves.toBeTruthy();
    await t.client.revokeKey(k.id);
    await expect(c.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("a forbidden model raises PermissionDeniedError, also via ?model= and /models/{id}", async () => {
    const k = await t.client.createKey(projectId, {
      name: "mini-only",
      allowed_models: ["gpt-4o-mini"],
    });
    const c = new OpenAI({ apiKey: k.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await expect(
      c.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(
      c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    ).resolves.toBeTruthy();
    // No bypass: the model named in the query, the path, or left to the provider's default.
    const post = (path: string, body: unknown) =>
      fetch(`${t.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(
      (await post("/v1/chat/completions?model=gpt-4o", { model: "gpt-4o-mini", messages: [] })).status,
    ).toBe(403);
    expect((await post("/v1/chat/completions", { messages: [] })).status).toBe(403);
    expect((await post("/v1/batches", { input_file_id: "f", endpoint: "/v1/chat/completions" })).status).toBe(
      403,
    );
    await expect(c.models.retrieve("gpt-4o")).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    // The models list shows only what the key may use.
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(["gpt-4o-mini"]);
  });

  it("restricted keys: resources are enforced and unknown paths need `all`", async () => {
    const k = await t.client.createKey(projectId, {
      name: "embed-only",
      permissions: { mode: "restricted", resources: { embeddings: "write" } },
    });
    const c = new OpenAI({ apiKey: k.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await expect(c.embeddings.create({ model: "text-embedding-3-small", input: "x" })).resolves.toBeTruthy();
    await expect(
      c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const res = await fetch(`${t.url}/v1/some/new/endpoint`, {
      headers: { authorization: `Bearer ${k.key}` },
    });
    expect(res.status).toBe(403);
    // Raw requests: fetch would normalise these paths before sending them.
    for (const path of [
      "/v1//chat/completions",
      "/v1/./chat/completions",
      "/v1/x/../chat/completions",
      "/v1/chat%2Fcompletions",
    ]) {
      expect(await rawStatus(t.url, path, k.key), path).toBe(400);
    }
  });

  it("upstream errors pass through with their status and body", async () => {
    const r500 = sdk.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
      { headers: { "x-mock-status": "500" } },
    );
    await expect(r500).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const r429 = sdk.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
      { headers: { "x-mock-status": "429" } },
    );
    await expect(r429).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("an upstream that hangs becomes a 504 within the configured timeout", async () => {
    const started = Date.now();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-mock-hang": "1" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [] }),
    });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("an upstream that closes mid-stream: the client sees an error event, usage is recorded", async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secret}`,
        "content-type": "application/json",
        "x-mock-close-after": "3",
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
    });
    const text = await res.text();
    expect(text).toContain("event: error");
    expect(text).toContain("upstream_stream_error");
    const row = await usageRow(t, res.headers.get("x-request-id")!);
    expect(row.status).toBe(502);
    expect(Number(row.completion_tokens)).toBeGreaterThan(0);
  });

  it("a client that disconnects mid-stream aborts the upstream request; no sockets leak", async () => {
    mock.setOptions({ delayMs: 100, chunks: 50 });
    const abortedBefore = mock.stats.aborted;
    const ac = new AbortController();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secret}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect.poll(() => mock.stats.aborted, { timeout: 3000 }).toBe(abortedBefore + 1);
    expect((await usageRow(t, res.headers.get("x-request-id")!)).status).toBe(499);
    await expect.poll(() => mock.stats.openSockets, { timeout: 3000 }).toBeLessThanOrEqual(1);
  });

  it("a client cannot choose the request id: a repeated x-request-id still meters every request", async () => {
    const send = () =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/json",
          "x-request-id": "same-id-every-time",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
      });
    const first = await send();
    const second = await send();
    expect([first.status, second.status]).toEqual([200, 200]);
    const ids = [first.headers.get("x-request-id")!, second.headers.get("x-request-id")!];
    expect(ids[0]).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ids[1]).not.toBe(ids[0]);
    for (const id of ids) expect((await usageRow(t, id)).status).toBe(200);
  });

  it("a client's x-request-id is logged for tracing, unless it holds a key", async () => {
    const pasted = `sk-proj-${"a1B2".repeat(6)}T3BlbkFJ${"c3D4".repeat(6)}`;
    for (const id of ["trace-abc.123", pasted]) {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/json",
          "x-request-id": id,
        },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await expect.poll(() => t.logs.text.includes('"client_request_id":"trace-abc.123"')).toBe(true);
    expect(t.logs.text).not.toContain(pasted);
  });

  it("bodies over the limit get 413; every response has x-request-id; /metrics counts", async () => {
    const big = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x".repeat(33 * 1024 * 1024) }],
      }),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get("x-request-id")).toBeTruthy();
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(
      /keyward_gateway_requests_total\{endpoint="\/v1\/chat\/completions",code="200"\} \d+/,
    );
    expect(metrics).toContain("keyward_gateway_overhead_ms_bucket");
    expect(metrics).toContain("keyward_key_cache_hit_ratio");
  });

  it("the provider key appears in no response, log line or audit entry", async () => {
    expect(t.logs.text).not.toContain(PROVIDER_KEY);
    expect(t.logs.text).not.toContain(secret);
    expect(await t.client.exportAudit("json")).not.toContain(PROVIDER_KEY);
  });
});
