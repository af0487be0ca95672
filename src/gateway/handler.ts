import { clientIp } from "../core/client-ip.js";
import type { Clock } from "../core/clock.js";
import { KeywardError } from "../core/errors.js";
import { ID_PREFIX, IdMinter } from "../core/ids.js";
import type { CachedKey } from "../keys/cache.js";
import type { ModelUse } from "../keys/model-policy.js";
import { CheckedKey, type KeyVerifier } from "../keys/verify.js";
import { estimateRequest } from "../limits/estimate.js";
import { rateLimitHeaders } from "../limits/headers.js";
import type { Admission, AdmissionControl, Ticket } from "../limits/admission.js";
import { clientRequestIdReader } from "../log/client-request-id.js";
import { accessLog } from "../log/access-log.js";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { endSpan, type GatewayTracing, type RequestTrace } from "../tracing/gateway-tracing.js";
import type { ResolvedUpstream, UpstreamDirectory } from "../upstreams/types.js";
import type { ModelPrice } from "../usage/prices.js";
import { costAt, type PriceTable } from "../usage/pricing.js";
import type { UsageRecorder } from "../usage/recorder.js";
import type { TokenUsage, UsageEvent } from "../usage/types.js";
import { GATEWAY_ERRORS, sendError, verifyError, type GatewayError } from "./errors.js";
import type { GatewayRequest, GatewayResponse } from "./exchange.js";
import { upstreamRequestHeaders } from "./headers.js";
import { bodyWithUsageRequested, modelsNamedBy } from "./request-models.js";
import { ResponseRelay } from "./relay.js";
import { classify, normalizePath, type RouteInfo } from "./routes.js";
import type { UpstreamClient } from "./upstream-client.js";

export interface GatewayDeps {
  verifier: KeyVerifier;
  directory: UpstreamDirectory;
  upstreams: UpstreamClient;
  recorder: UsageRecorder;
  /** In process, or shared by the replicas (chosen once in src/app/context.ts). */
  limiter: AdmissionControl;
  prices: PriceTable;
  metrics: GatewayMetrics;
  logger: Logger;
  clock: Clock;
  brand: string;
  maxBodyBytes: number;
  trustProxy: boolean;
  defaultMaxOutputTokens: number;
  /**
   * Usage of a completed response is committed before its end reaches the client (see
   * `usage.durable`): what a client saw succeed is metered even if the process is killed.
   */
  durableUsage: boolean;
  /** null: tracing is off, and costs nothing. */
  tracing: GatewayTracing | null;
}

/**
 * Longest a completed answer waits for its usage to commit. Past it (the store is failing) the
 * answer goes out anyway and the event stays queued for retry: the client is never held
 * hostage to the store, and the upstream has already been paid.
 */
const DURABLE_WAIT_MS = 2_000;

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);
/** Writes whose cost is metered in tokens (or free), so a budget can hold them. */
const BUDGETABLE = new Set([
  "chat_completions",
  "completions",
  "responses",
  "embeddings",
  "moderations",
  "files",
]);

/**
 * The OpenAI-compatible proxy (`/v1/*`). One ordered path per request:
 * path → key format → route → body and the models it names → verify (status, expiry, IP,
 * permission, model) → upstream → relay (streaming chunk by chunk) → meter.
 * Nothing on this path touches the store when the key is cached: last-used times and usage
 * events are queued in memory and written in batches.
 */
export function createGatewayHandler(deps: GatewayDeps): (req: GatewayRequest, res: GatewayResponse) => void {
  const logAccess = accessLog(deps.logger);
  const requestIds = new IdMinter(ID_PREFIX.request);
  const clientRequestIdOf = clientRequestIdReader(deps.brand);
  const upstreamBase = upstreamBases();
  const handle = async (
    req: GatewayRequest,
    res: GatewayResponse,
    trace: RequestTrace | null,
  ): Promise<void> => {
    const started = performance.now();
    // keyward names every request itself: the id keys its usage row, so a client must not be
    // able to pick it (a repeated id would collapse many requests into one metered row). A
    // well-formed id the client sent is kept in the log line, for tracing.
    const requestId = requestIds.next(Date.now());
    const clientRequestId = clientRequestIdOf(req.headers["x-request-id"]);
    const method = req.method;
    const url = req.url;
    const q = url.indexOf("?");
    const search = q === -1 ? "" : url.slice(q);
    const path = normalizePath(q === -1 ? url : url.slice(0, q));

    const fail = (err: GatewayError, endpoint = "other", headers: Record<string, string> = {}): void => {
      deps.metrics.requests.inc([endpoint, String(err.status)]);
      trace?.end({ status: err.status });
      // An unread body may still be on its way: the connection is not reusable after a 413.
      sendError(res, err, requestId, err.status === 413 ? { ...headers, connection: "close" } : headers);
    };

    if (path === null) return fail(GATEWAY_ERRORS.badPath);
    if (req.headers.upgrade) return fail(GATEWAY_ERRORS.upgradeUnsupported);
    const key = bearerToken(req.headers.authorization);
    if (!key) return fail(GATEWAY_ERRORS.missingKey);
    // A malformed key is refused before its body is read: no work for unauthenticated noise.
    const checkedKey = CheckedKey.check(key, deps.brand);
    if (!checkedKey) return fail(verifyError("MALFORMED", undefined));

    const route = classify(method, path, req.headers["content-type"]);
    let body: Buffer | null = null;
    if (!BODYLESS.has(method) && !route.streamBody) {
      const read = await req.readBody(deps.maxBodyBytes);
      if (read === "aborted") return void res.destroy();
      if (read === "too_large") return fail(GATEWAY_ERRORS.tooLarge, route.endpoint);
      body = read;
    }
    const parsed = modelsNamedBy(route, path, search, body, req.headers["content-type"]);
    if ("error" in parsed) return fail(parsed.error, route.endpoint);

    const ip = clientIp(req.remoteAddress, header(req.headers["x-forwarded-for"]), deps.trustProxy);
    let outcome;
    const verifySpan = trace?.child("keyward.verify");
    try {
      outcome = await deps.verifier.verify({
        key: checkedKey,
        resource: route.resource ?? null,
        access: route.access,
        models: parsed.models,
        modelUse: modelUse(route),
        ...(ip ? { ip } : {}),
        ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
        endpoint: route.endpoint,
      });
    } catch (err) {
      if (verifySpan) endSpan(verifySpan, "store unavailable");
      // Fail closed: a key that cannot be checked is not let through.
      if (err instanceof KeywardError && err.code === "unavailable")
        return fail(GATEWAY_ERRORS.unavailable, route.endpoint);
      throw err;
    }
    if (verifySpan)
      endSpan(verifySpan, outcome.code === "VALID" ? null : outcome.code, {
        "keyward.verify.code": outcome.code,
      });
    if (outcome.code !== "VALID") return fail(verifyError(outcome.code, outcome.message), route.endpoint);
    const apiKey = outcome.key!;
    trace?.identify(apiKey.keyId, apiKey.projectId);

    const upstream = deps.directory.forProject(apiKey.projectId);
    if (!upstream) return fail(GATEWAY_ERRORS.noUpstream, route.endpoint);

    const model = parsed.models[0] ?? null;
    // Looked up once: the budget's estimate and the recorded cost use the same price.
    const price = model ? deps.prices.priceOf(model) : null;
    // Limits and budgets: decided for every limit at once, applied only if all allow.
    const limited = Boolean(apiKey.limits ?? apiKey.projectLimits);
    const limitsSpan = limited ? trace?.child("keyward.limits") : undefined;
    const admission = limited ? admit(route, parsed.json, body, apiKey, price) : null;
    const limits = admission instanceof Promise ? await admission : admission;
    if (limitsSpan) endSpan(limitsSpan, limits && !limits.ok ? limits.error.code : null);
    if (limits && !limits.ok) return fail(limits.error, route.endpoint, limits.headers);

    const streamed = parsed.json?.stream === true;
    // For streamed chat/completions, ask the upstream for usage; strip that chunk again if the
    // client did not ask for it itself.
    const injectUsage =
      streamed && (route.usage === "chat" || route.usage === "completions") && !parsed.usageRequested;
    if (injectUsage && parsed.json && body) body = bodyWithUsageRequested(body, parsed.json);

    await forward(req, res, {
      started,
      requestId,
      clientRequestId,
      method,
      path,
      search,
      route,
      body,
      upstream,
      apiKey,
      model,
      price,
      streamed,
      injectUsage,
      ip,
      ticket: limits?.ticket ?? null,
      limitHeaders: limits?.headers ?? {},
      trace,
    });
  };

  /** Limits and budgets for one request; synchronous unless a budget must be loaded first. */
  function admit(
    route: RouteInfo,
    json: Record<string, unknown> | null,
    body: Buffer | null,
    key: CachedKey,
    price: ModelPrice | null,
  ): LimitOutcome | Promise<LimitOutcome> {
    const budgeted = Boolean(key.limits?.budget ?? key.projectLimits?.budget);
    if (budgeted && route.access === "write" && !(route.resource && BUDGETABLE.has(route.resource))) {
      return { ok: false, error: GATEWAY_ERRORS.notBudgetable, headers: {} };
    }
    const now = deps.clock.now();
    const estimate = estimateRequest(
      json,
      body?.length ?? 0,
      price,
      route.usage === "embeddings",
      deps.defaultMaxOutputTokens,
    );
    const a = deps.limiter.admit({
      keyId: key.keyId,
      projectId: key.projectId,
      keyLimits: key.limits,
      projectLimits: key.projectLimits,
      estimatedTokens: route.access === "write" ? estimate.tokens : 0,
      worstCostMicros: route.usage === "none" ? 0 : estimate.worstCostMicros,
      now,
    });
    return a instanceof Promise ? a.then((x) => limitOutcome(x, now)) : limitOutcome(a, now);
  }

  async function forward(req: GatewayRequest, res: GatewayResponse, r: Forwarding): Promise<void> {
    const headers = upstreamRequestHeaders(
      req.headers,
      r.upstream,
      r.body ? r.body.length : BODYLESS.has(r.method) ? null : r.route.streamBody ? declaredLength(req) : 0,
      r.requestId,
    );
    const base = upstreamBase(r.upstream);
    const relay = new ResponseRelay(res, {
      requestId: r.requestId,
      route: r.route,
      dropUsageChunk: r.injectUsage,
      filterModels:
        r.method === "GET" && r.path === "/v1/models" && r.apiKey.allowedModels !== null
          ? r.apiKey.allowsModel
          : null,
      extraHeaders: r.limitHeaders,
      holdEnd: deps.durableUsage,
    });
    res.on("close", () => {
      if (!res.writableFinished) relay.abort();
    });
    const upstreamSpan = r.trace?.upstream(r.method, base.origin, headers);
    const sentAt = performance.now();
    deps.metrics.overhead.observe(sentAt - r.started);
    deps.upstreams.dispatch(
      base.origin,
      {
        method: r.method,
        path: base.path + r.path.slice(3) + r.search,
        headers,
        body: r.body ?? (r.route.streamBody && !BODYLESS.has(r.method) ? req.bodyStream : null),
      },
      relay,
    );
    const relayed = await relay.done;
    if (upstreamSpan)
      endSpan(upstreamSpan, relayed.status >= 500 ? `upstream answered ${relayed.status}` : null, {
        "http.response.status_code": relayed.status,
      });
    if (relayed.headersAt !== null)
      deps.metrics.upstreamLatency.observe(relayed.headersAt - sentAt, [r.route.endpoint]);
    let usage = relayed.usage;
    if (
      !usage &&
      r.route.usage !== "none" &&
      relayed.headersAt !== null &&
      (relayed.status < 400 || relayed.dataEvents > 0)
    ) {
      // The stream broke before its usage chunk: bill what was evidently consumed, never zero.
      usage = { prompt: Math.ceil((r.body?.length ?? 0) / 4), completion: relayed.dataEvents, cached: 0 };
    }
    finish(r, relayed.status, usage, performance.now() - r.started, relayed.complete);
  }

  function finish(
    r: Forwarding,
    status: number,
    usage: TokenUsage | null,
    elapsedMs: number,
    complete: (() => void) | null = null,
  ): void {
    const tokens = usage ?? { prompt: 0, completion: 0, cached: 0 };
    const costMicros = costAt(r.price, tokens);
    if (r.ticket) {
      // Served (even partly): the real usage replaces the reservation. Not served: all returned.
      if (usage)
        deps.limiter.settle(r.ticket, tokens.prompt + tokens.completion, costMicros, deps.clock.now());
      else deps.limiter.release(r.ticket, deps.clock.now());
    }
    const event: UsageEvent = {
      requestId: r.requestId,
      ts: deps.clock.now(),
      keyId: r.apiKey.keyId,
      projectId: r.apiKey.projectId,
      method: r.method,
      endpoint: r.route.endpoint,
      model: r.model,
      status,
      streamed: r.streamed,
      usage: tokens,
      costMicros,
      latencyMs: Math.round(elapsedMs),
      clientIp: r.ip,
      upstreamId: r.upstream.id,
    };
    if (complete) void deps.recorder.recordDurable(event, DURABLE_WAIT_MS).then(complete);
    else deps.recorder.record(event);
    deps.metrics.requests.inc([r.route.endpoint, String(status)]);
    r.trace?.end({
      status,
      model: r.model,
      promptTokens: tokens.prompt,
      completionTokens: tokens.completion,
      costUsd: costMicros / 1e6,
    });
    logAccess({
      requestId: r.requestId,
      clientRequestId: r.clientRequestId,
      keyId: r.apiKey.keyId,
      method: r.method,
      endpoint: r.route.endpoint,
      status,
      ms: Math.round(elapsedMs),
    });
  }

  return (req, res) => {
    const trace = deps.tracing
      ? deps.tracing.start(req.method, req.url.split("?", 1)[0]!, req.headers)
      : null;
    handle(req, res, trace).catch((err: unknown) => {
      trace?.end({ status: 500 });
      deps.logger.error(
        { err: err instanceof Error ? { type: err.name, message: err.message } : String(err) },
        "gateway error",
      );
      sendError(
        res,
        { status: 500, type: "api_error", code: "internal_error", message: "Internal error." },
        "unknown",
      );
    });
  };
}

type LimitOutcome =
  | { ok: true; ticket: Ticket; headers: Record<string, string> }
  | { ok: false; error: GatewayError; headers: Record<string, string> };

/** A limiter decision as the gateway answers it: rate-limit headers, and the error if refused. */
function limitOutcome(a: Admission, now: number): LimitOutcome {
  const headers = rateLimitHeaders(a.checks, now);
  if (a.ok) return { ok: true, ticket: a.ticket, headers };
  // Shared state unreachable: refused (never let through), with its own 503 code.
  if ("unavailable" in a)
    return {
      ok: false,
      error:
        a.unavailable === "budgets" ? GATEWAY_ERRORS.budgetUnavailable : GATEWAY_ERRORS.rateLimitsUnavailable,
      headers,
    };
  if (Number.isFinite(a.failed.resetAt))
    headers["retry-after"] = String(Math.max(1, Math.ceil((a.failed.resetAt - now) / 1000)));
  const code = a.failed.kind === "budget" ? "BUDGET_EXCEEDED" : "RATE_LIMITED";
  return { ok: false, error: verifyError(code, a.reason), headers };
}

interface Forwarding {
  started: number;
  requestId: string;
  /** The client's own x-request-id, when well-formed (logged, never used as an identity). */
  clientRequestId: string | null;
  method: string;
  path: string;
  search: string;
  route: RouteInfo;
  body: Buffer | null;
  upstream: ResolvedUpstream;
  apiKey: CachedKey;
  model: string | null;
  /** The model's price, looked up once per request (null: unknown model, cost 0). */
  price: ModelPrice | null;
  streamed: boolean;
  injectUsage: boolean;
  ip: string | null;
  /** Limit reservations to settle with the real usage (null when no limits apply). */
  ticket: Ticket | null;
  limitHeaders: Record<string, string>;
  trace: RequestTrace | null;
}

/** How a route uses models, for the model policy (src/keys/model-policy.ts). Reads are free. */
function modelUse(route: RouteInfo): ModelUse {
  if (route.access !== "write") return "free";
  return route.opaqueModels ? "hidden" : route.modelRequired ? "named" : "free";
}

/**
 * An upstream's origin and base path, parsed once per upstream record rather than per request
 * (records are replaced, not changed, when an upstream is edited, so they key the cache).
 */
function upstreamBases(): (u: ResolvedUpstream) => { origin: string; path: string } {
  const bases = new WeakMap<ResolvedUpstream, { origin: string; path: string }>();
  return (u) => {
    let b = bases.get(u);
    if (!b) {
      const url = new URL(u.baseUrl);
      b = { origin: url.origin, path: url.pathname.replace(/\/$/, "") };
      bases.set(u, b);
    }
    return b;
  };
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function declaredLength(req: GatewayRequest): number | null {
  const n = Number(req.headers["content-length"]);
  return Number.isInteger(n) && n >= 0 ? n : null;
}
