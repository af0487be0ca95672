import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { IncomingHttpHeaders } from "node:http";

/** What the gateway records on a request's span once it is over. Never a secret. */
export interface RequestOutcome {
  status: number;
  model?: string | null | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  costUsd?: number | undefined;
}

const headerGetter = {
  keys: (h: IncomingHttpHeaders) => Object.keys(h),
  get: (h: IncomingHttpHeaders, key: string) => h[key],
};
const headerSetter = {
  set: (h: Record<string, string>, key: string, value: string) => {
    h[key] = value;
  },
};

/**
 * Spans for gateway requests: one SERVER span per request (a child of the client's own
 * `traceparent`, when it sent one), with children for verify, limits and the upstream call, and
 * the upstream call's context sent on as W3C `traceparent`. Contexts are passed explicitly, so no
 * global context manager or registered provider is needed. The gateway holds `null` instead of
 * an instance when tracing is off: no span objects, no attribute work, nothing per request.
 */
export class GatewayTracing {
  private readonly propagator: TextMapPropagator = new W3CTraceContextPropagator();

  constructor(private readonly tracer: Tracer) {}

  /** Starts the request's span. */
  start(method: string, path: string, headers: IncomingHttpHeaders): RequestTrace {
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const span = this.tracer.startSpan(
      `${method} /v1`,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": method, "url.path": path },
      },
      parent,
    );
    return new RequestTrace(this.tracer, this.propagator, span, trace.setSpan(parent, span));
  }
}

/** One request's spans. */
export class RequestTrace {
  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
    private readonly span: Span,
    private readonly context: Context,
  ) {}

  /** The verified key's ids (never the key itself). */
  identify(keyId: string, projectId: string): void {
    this.span.setAttributes({ "keyward.key_id": keyId, "keyward.project_id": projectId });
  }

  /** A child span of the request (verify, limits); the caller ends it. */
  child(name: string, attributes?: Attributes): Span {
    return this.tracer.startSpan(name, attributes ? { attributes } : {}, this.context);
  }

  /** The upstream call's CLIENT span; its `traceparent` is written into `headers`. */
  upstream(method: string, url: string, headers: Record<string, string>): Span {
    const span = this.tracer.startSpan(
      `${method} upstream`,
      { kind: SpanKind.CLIENT, attributes: { "http.request.method": method, "server.address": url } },
      this.context,
    );
    this.propagator.inject(trace.setSpan(this.context, span), headers, headerSetter);
    return span;
  }

  /** Ends the request's span with what became of it. */
  end(o: RequestOutcome): void {
    const a: Attributes = { "http.response.status_code": o.status };
    if (o.model) a["gen_ai.request.model"] = o.model;
    if (o.promptTokens !== undefined) a["gen_ai.usage.input_tokens"] = o.promptTokens;
    if (o.completionTokens !== undefined) a["gen_ai.usage.output_tokens"] = o.completionTokens;
    if (o.costUsd !== undefined) a["keyward.cost_usd"] = o.costUsd;
    this.span.setAttributes(a);
    if (o.status >= 500) this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
  }
}

/** Ends a child span, marking it failed when `failed` says why. */
export function endSpan(span: Span, failed?: string | null, attributes?: Attributes): void {
  if (attributes) span.setAttributes(attributes);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
  span.end();
}
