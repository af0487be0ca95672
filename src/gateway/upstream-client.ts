import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type tls from "node:tls";
import { Agent, EnvHttpProxyAgent, type Dispatcher } from "undici";
import type {
  ResponseHeaders,
  UpstreamControls,
  UpstreamFailure,
  UpstreamHandler,
  UpstreamRequest,
} from "./upstream-types.js";

/** Forward proxies for upstream calls, as `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` give them. */
export interface ProxySettings {
  http?: string | undefined;
  https?: string | undefined;
  noProxy?: string | undefined;
}

export interface UpstreamClientOptions {
  /**
   * The upstream must make progress within this many ms: connect, answer with headers, and
   * never go silent longer than this mid-body (a paused exchange — a slow client — gets ten
   * times as long).
   */
  timeoutMs: number;
  /** Connections per origin at most; more requests queue. Default 256. */
  maxConnections?: number;
  /** Longest an idle keep-alive connection is kept when the upstream does not say. Default 4 s. */
  idleMs?: number;
  /** Extra TLS options for https upstreams (a private CA, for instance). */
  tls?: tls.ConnectionOptions;
  /** Offer HTTP/2 to https upstreams (ALPN); HTTP/1.1 otherwise. */
  http2?: boolean;
  /** Unset or empty: connect directly. Never read from the environment here (config does that). */
  proxy?: ProxySettings;
}

/**
 * Upstream calls through undici: keep-alive pools per origin, connection limits, timeouts,
 * forward proxies (`EnvHttpProxyAgent` with the configured `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`)
 * and optional HTTP/2. Going through undici's dispatcher also makes every call visible on its
 * `diagnostics_channel` events, which APM agents hook into.
 */
export class UpstreamClient {
  private readonly agent: Dispatcher;
  private readonly pausedLimitMs: number;
  private closed = false;

  constructor(o: UpstreamClientOptions) {
    this.pausedLimitMs = o.timeoutMs * 10;
    const options: Agent.Options = {
      connections: o.maxConnections ?? 256,
      keepAliveTimeout: o.idleMs ?? 4_000,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      allowH2: o.http2 ?? false,
      connect: { timeout: o.timeoutMs, ...o.tls },
    };
    // Without a proxy, a plain Agent: EnvHttpProxyAgent would parse every origin to check NO_PROXY.
    this.agent =
      o.proxy?.http || o.proxy?.https
        ? new EnvHttpProxyAgent({
            ...options,
            // Empty strings, not undefined: undici would otherwise read process.env itself.
            httpProxy: o.proxy.http ?? "",
            httpsProxy: o.proxy.https ?? "",
            noProxy: o.proxy.noProxy ?? "",
            // TLS to the upstream inside a proxy's CONNECT tunnel.
            ...(o.tls ? { requestTls: o.tls } : {}),
          })
        : new Agent(options);
  }

  /** `origin` like `https://api.openai.com`. The handler hears everything, errors included. */
  dispatch(origin: string, request: UpstreamRequest, handler: UpstreamHandler): void {
    const exchange = new Exchange(handler, this.pausedLimitMs);
    handler.onStart(exchange);
    if (this.closed) return exchange.fail("unreachable", new Error("the upstream client is closed"));
    this.agent.dispatch(
      {
        origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body as Buffer | Readable | null,
      },
      exchange,
    );
  }

  /**
   * Refuses new requests; waits for running and queued ones to end (timeouts still apply),
   * then closes every connection.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.agent.close();
  }
}

/** Ours, not undici's: the handler (the client) gave up. */
class Aborted extends Error {
  override name = "AbortError";
}
/** A paused exchange waited longer than ten times the timeout. */
class PausedTooLong extends Error {
  override name = "PausedTooLongError";
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

function failureOf(err: Error): UpstreamFailure {
  if (err instanceof Aborted) return "aborted";
  if (err instanceof PausedTooLong) return "timeout";
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && TIMEOUT_CODES.has(code) ? "timeout" : "unreachable";
}

/**
 * One exchange: adapts undici's handler API to keyward's UpstreamHandler, and guarantees what
 * that interface promises — controls from the start (undici gives its controller only when the
 * request reaches a connection), and exactly one of `onEnd`/`onError`.
 */
class Exchange implements Dispatcher.DispatchHandler, UpstreamControls {
  private controller: Dispatcher.DispatchController | null = null;
  private over = false;
  private paused = false;
  private pauseTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly handler: UpstreamHandler,
    private readonly pausedLimitMs: number,
  ) {}

  // UpstreamControls

  pause(): void {
    if (this.over || this.paused) return;
    this.paused = true;
    this.controller?.pause();
    // undici stops its body timeout while paused; a client that never reads must still end.
    this.pauseTimer = setTimeout(() => this.cut(new PausedTooLong("paused too long")), this.pausedLimitMs);
    this.pauseTimer.unref();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.clearPauseTimer();
    if (!this.over) this.controller?.resume();
  }

  abort(): void {
    this.cut(new Aborted("the client went away"));
  }

  /** Ends the exchange with `err` now, and tells undici to stop (now or once it starts). */
  private cut(err: Error): void {
    if (this.over) return;
    this.controller?.abort(err);
    this.fail(failureOf(err), err);
  }

  fail(failure: UpstreamFailure, err: Error): void {
    if (this.over) return;
    this.over = true;
    this.clearPauseTimer();
    this.handler.onError(failure, err);
  }

  private clearPauseTimer(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
  }

  // undici's DispatchHandler

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.over) controller.abort(new Aborted("the client went away"));
    else if (this.paused) controller.pause();
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.over || status < 200) return;
    this.handler.onHeaders(status, flatHeaders(headers));
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.over) this.handler.onData(chunk);
  }

  onResponseEnd(): void {
    if (this.over) return;
    this.over = true;
    this.clearPauseTimer();
    this.handler.onEnd();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(failureOf(err), err);
  }
}

function flatHeaders(headers: IncomingHttpHeaders): ResponseHeaders {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === "string") list.push(name, value);
    else if (value) for (const v of value) list.push(name, v);
  }
  return list;
}
