import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { GatewayTracing } from "./gateway-tracing.js";

/** The tracing part of the config, as the standard `OTEL_*` variables give it. */
export type TracingConfig = Pick<
  Config,
  | "otelSdkDisabled"
  | "otelTracesExporter"
  | "otelExporterOtlpEndpoint"
  | "otelExporterOtlpTracesEndpoint"
  | "otelExporterOtlpHeaders"
  | "otelServiceName"
>;

export interface Tracing {
  /** null when tracing is off. */
  gateway: GatewayTracing | null;
  /** Sends what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Where spans go, or null for off. Off by default: on when `OTEL_TRACES_EXPORTER` names an
 * exporter (`otlp`, `console`) or an OTLP endpoint is set; `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` turn it off again.
 */
export function tracesDestination(
  c: TracingConfig,
): { exporter: "console" } | { exporter: "otlp"; url: string } | null {
  if (c.otelSdkDisabled || c.otelTracesExporter === "none") return null;
  if (c.otelTracesExporter === "console") return { exporter: "console" };
  const url =
    c.otelExporterOtlpTracesEndpoint ??
    (c.otelExporterOtlpEndpoint ? `${c.otelExporterOtlpEndpoint.replace(/\/$/, "")}/v1/traces` : undefined);
  if (url) return { exporter: "otlp", url };
  // OTLP named but no endpoint: the specification's default collector address.
  return c.otelTracesExporter === "otlp"
    ? { exporter: "otlp", url: "http://localhost:4318/v1/traces" }
    : null;
}

/** `k1=v1,k2=v2` (values URL-encoded), as OTEL_EXPORTER_OTLP_HEADERS writes them. */
function parseHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}

/** Builds the tracer provider the config asks for (none when tracing is off). */
export function startTracing(c: TracingConfig, logger: Logger): Tracing {
  const destination = tracesDestination(c);
  if (!destination) return { gateway: null, shutdown: async () => {} };
  const exporter: SpanExporter =
    destination.exporter === "console"
      ? new ConsoleSpanExporter()
      : new OTLPTraceExporter({ url: destination.url, headers: parseHeaders(c.otelExporterOtlpHeaders) });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": c.otelServiceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Origin and path only: headers, and a URL's user-info, may carry a collector's credentials.
  logger.info(
    {
      exporter: destination.exporter,
      ...("url" in destination
        ? { url: new URL(destination.url).origin + new URL(destination.url).pathname }
        : {}),
    },
    "tracing on",
  );
  return {
    gateway: new GatewayTracing(provider.getTracer("keyward")),
    shutdown: () => provider.shutdown(),
  };
}
