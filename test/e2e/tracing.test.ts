import { SpanKind } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayTracing } from "../../src/tracing/gateway-tracing.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

const PROVIDER_KEY = "sk-mock-provider-key-for-tracing";

describe("OpenTelemetry spans for gateway requests", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let mock: MockUpstream;
  let t: TestServer;
  let secret: string;
  let keyId: string;
  let projectId: string;

  beforeAll(async () => {
    mock = await startMockUpstream({ usage: { prompt: 12, completion: 7 } });
    t = await startTestServer("sqlite", {
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: PROVIDER_KEY },
      tracing: new GatewayTracing(provider.getTracer("test")),
      logLevel: "silent",
    });
    projectId = (await t.client.createProject({ name: "traced", limits: { rpm: 1000 } })).id;
    const k = await t.client.createKey(projectId, { name: "app" });
    secret = k.key;
    keyId = k.id;
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
    await provider.shutdown();
  });

  it("a request's span has verify, limits and upstream children, and the upstream gets its traceparent", async () => {
    exporter.reset();
    const sdk = new OpenAI({ apiKey: secret, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(4);
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual([
      "POST /v1",
      "POST upstream",
      "keyward.limits",
      "keyward.verify",
    ]);
    for (const s of spans) expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
    for (const name of ["keyward.verify", "keyward.limits", "POST upstream"])
      expect(byName.get(name)!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(root.attributes).toMatchObject({
      "http.request.method": "POST",
      "url.path": "/v1/chat/completions",
      "http.response.status_code": 200,
      "keyward.key_id": keyId,
      "keyward.project_id": projectId,
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 7,
    });
    expect(root.attributes["keyward.cost_usd"]).toBeGreaterThan(0);
    // The upstream call's context went on as W3C traceparent: same trace, the CLIENT span as parent.
    const upstream = byName.get("POST upstream")!;
    expect(upstream.kind).toBe(SpanKind.CLIENT);
    expect(mock.stats.lastRequest!.headers.traceparent).toBe(
      `00-${upstream.spanContext().traceId}-${upstream.spanContext().spanId}-01`,
    );
    // No secret in any attribute.
    const everything = JSON.stringify(spans.map((s) => s.attributes));
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(PROVIDER_KEY);
  });

  it("continues the client's own trace, and records a refused key as a failed verify", async () => {
    const revoked = await t.client.createKey(projectId, { name: "gone" });
    await t.client.revokeKey(revoked.id);
    exporter.reset();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${t.url}/v1/models`, {
      headers: {
        authorization: `Bearer ${revoked.key}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    expect(res.status).toBe(401);
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(2);
    const spans = exporter.getFinishedSpans();
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    const verify = spans.find((s) => s.name === "keyward.verify")!;
    expect(verify.status.code).toBe(2); // ERROR
    expect(verify.attributes["keyward.verify.code"]).toBe("REVOKED");
    expect(spans.find((s) => s.kind === SpanKind.SERVER)!.attributes["http.response.status_code"]).toBe(401);
  });
});
