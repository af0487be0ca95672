import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/config.js";
import { createLogger } from "../log/logger.js";
import { startTracing, tracesDestination } from "./setup.js";

const silent = createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() }));

describe("tracing setup from the OTEL_* variables", () => {
  it("is off by default, on with an exporter or an endpoint, off again when disabled", () => {
    expect(tracesDestination(loadConfig({}))).toBeNull();
    expect(tracesDestination(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }))).toEqual({
      exporter: "otlp",
      url: "http://collector:4318/v1/traces",
    });
    expect(
      tracesDestination(
        loadConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom",
        }),
      ),
    ).toEqual({ exporter: "otlp", url: "http://traces:4318/custom" });
    expect(tracesDestination(loadConfig({ OTEL_TRACES_EXPORTER: "otlp" }))).toEqual({
      exporter: "otlp",
      url: "http://localhost:4318/v1/traces",
    });
    expect(tracesDestination(loadConfig({ OTEL_TRACES_EXPORTER: "console" }))).toEqual({
      exporter: "console",
    });
    for (const off of [{ OTEL_SDK_DISABLED: "true" }, { OTEL_TRACES_EXPORTER: "none" }])
      expect(
        tracesDestination(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...off })),
      ).toBeNull();
    expect(startTracing(loadConfig({}), silent).gateway).toBeNull();
  });

  it("exports spans over OTLP/HTTP to the configured collector, with its headers", async () => {
    const received: Array<{ url: string; auth: string | undefined; bytes: number }> = [];
    const collector = http.createServer((req, res) => {
      let bytes = 0;
      req.on("data", (d: Buffer) => (bytes += d.length));
      req.on("end", () => {
        received.push({ url: req.url!, auth: req.headers.authorization, bytes });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    try {
      const { port } = collector.address() as AddressInfo;
      const tracing = startTracing(
        loadConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20collector-token",
        }),
        silent,
      );
      const trace = tracing.gateway!.start("POST", "/v1/chat/completions", {});
      trace.end({ status: 200, model: "gpt-4o-mini" });
      await tracing.shutdown();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ url: "/v1/traces", auth: "Bearer collector-token" });
      expect(received[0]!.bytes).toBeGreaterThan(50);
    } finally {
      collector.close();
    }
  });
});
