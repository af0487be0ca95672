import type { TokenUsage } from "../usage/types.js";
import { GATEWAY_ERRORS, sendError } from "./errors.js";
import type { GatewayResponse } from "./exchange.js";
import { clientResponseHeaders } from "./headers.js";
import type { RouteInfo } from "./routes.js";
import { SseRelay } from "./sse.js";
import {
  headerValue,
  type ResponseHeaders,
  type UpstreamControls,
  type UpstreamFailure,
  type UpstreamHandler,
} from "./upstream-types.js";
import { usageFromJson } from "./usage-extract.js";

export interface RelayOptions {
  requestId: string;
  route: RouteInfo;
  /** Drop the usage-only SSE chunk (keyward asked for it, the client did not). */
  dropUsageChunk: boolean;
  /** For `GET /v1/models` under a model allowlist: list only the allowed models. */
  filterModels: ((model: string) => boolean) | null;
  /** Headers keyward adds (rate-limit state). */
  extraHeaders: Record<string, string>;
  /**
   * Hold the end of a completed response until the caller has made its usage durable
   * (`Relayed.complete`): a client never sees a success that a crash could leave unmetered.
   */
  holdEnd: boolean;
}

/** How one proxied request ended. */
export interface Relayed {
  /** The status the client saw (499 when it went away first; 502/504 when the upstream failed). */
  status: number;
  usage: TokenUsage | null;
  /** Data events relayed (a floor for completion tokens if a stream dies before its usage). */
  dataEvents: number;
  /** When the upstream's response headers arrived (performance.now()), or null if they never did. */
  headersAt: number | null;
  /**
   * With `holdEnd`: sends the held end of the response (the whole body of a buffered answer,
   * the end of a stream). Null when nothing is held.
   */
  complete: (() => void) | null;
}

/** Largest JSON body buffered to read usage from; larger ones are streamed through unread. */
const MAX_BUFFERED = 8 * 1024 * 1024;

type Mode = "waiting" | "buffer" | "sse" | "pipe";

/**
 * Relays one upstream response to the client as an UpstreamHandler: no stream objects
 * or promises per chunk on the hot path, only callbacks.
 *
 * - Server-sent events go through event by event as they arrive (usage picked out, the usage
 *   chunk keyward asked for itself dropped);
 * - JSON bodies of metered endpoints are read whole (they are small) for their usage — one
 *   that turns out larger than MAX_BUFFERED is streamed on unread instead;
 * - everything else (audio, files) is piped through untouched.
 *
 * Backpressure: when the client reads slower than the upstream sends, the upstream connection
 * is paused until the client drains. `abort()` (the client went away) stops the upstream request.
 */
export class ResponseRelay implements UpstreamHandler {
  /** Settles exactly once, when the exchange is over; never rejects. */
  readonly done: Promise<Relayed>;
  private settle!: (r: Relayed) => void;
  private controls: UpstreamControls | null = null;
  private clientGone = false;
  private mode: Mode = "waiting";
  private status = 0;
  private headersAt: number | null = null;
  private upstreamHeaders: ResponseHeaders = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private sse: SseRelay | null = null;
  /** Some of the body has been handed to the client's socket (headers went with it). */
  private bodyStarted = false;

  constructor(
    private readonly res: GatewayResponse,
    private readonly o: RelayOptions,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /** The client went away: abort the upstream request (now, or as soon as it is dispatched). */
  abort(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.controls?.abort();
  }

  onStart(controls: UpstreamControls): void {
    this.controls = controls;
    if (this.clientGone) controls.abort();
  }

  onHeaders(statusCode: number, headers: ResponseHeaders): void {
    this.headersAt = performance.now();
    this.status = statusCode;
    this.upstreamHeaders = headers;
    const contentType = headerValue(headers, "content-type") ?? "";
    if (contentType.startsWith("text/event-stream")) {
      this.mode = "sse";
      this.sse = new SseRelay(this.o.route.usage, this.o.dropUsageChunk);
      this.writeHead(false);
      // A streaming client should see the response start at once, without waiting for the first
      // event. When that event came in the same read as the headers (the usual case), it is
      // written first and both leave in one write; otherwise the headers go out on their own.
      setImmediate(() => {
        if (!this.bodyStarted && !this.res.writableEnded) this.res.flushHeaders();
      });
      return;
    }
    const length = Number(headerValue(headers, "content-length") ?? NaN);
    const wantBody = this.o.route.usage !== "none" || this.o.filterModels !== null;
    if (wantBody && !(length > MAX_BUFFERED)) {
      this.mode = "buffer";
      return;
    }
    this.mode = "pipe";
    this.writeHead(true);
  }

  onData(chunk: Buffer): void {
    if (this.clientGone) return;
    switch (this.mode) {
      case "buffer":
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        // No Content-Length and bigger than expected: stop reading it, pass it on unread.
        if (this.buffered > MAX_BUFFERED) this.switchToPipe();
        return;
      case "sse": {
        const text = this.sse!.push(chunk);
        if (text) this.write(text);
        return;
      }
      case "pipe":
        this.write(chunk);
        return;
      case "waiting":
        return;
    }
  }

  onEnd(): void {
    const hold = this.o.holdEnd;
    if (this.mode === "buffer") {
      let body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      if (this.o.filterModels && this.status === 200) body = filterModelList(body, this.o.filterModels);
      if (!hold && !this.sendBuffered(body)) return this.finish(502, null);
      // Read only after the answer is on its way: metering is not the client's wait (unless
      // the answer waits for durable metering, when it must be read first).
      const usage = this.status < 400 ? usageFromJson(this.o.route.usage, body) : null;
      const status = this.clientGone ? 499 : this.status;
      return this.finish(status, usage, hold ? () => void this.sendBuffered(body) : null);
    }
    const tail = this.mode === "sse" ? this.sse!.end() : "";
    const end = () => {
      if (!this.clientGone && !this.res.destroyed) this.res.end(tail || undefined);
    };
    if (!hold) end();
    this.finish(this.clientGone ? 499 : this.status, this.sse?.usage ?? null, hold ? end : null);
  }

  /** Sends a buffered answer whole; false (connection cut) when Node refuses its head. */
  private sendBuffered(body: Buffer): boolean {
    if (this.clientGone || this.res.destroyed) return true;
    const headers = this.headers(false);
    headers.push("content-length", String(body.length));
    try {
      this.res.writeHead(this.status, headers);
    } catch {
      // A head Node will not send (the parser lets through nothing it should refuse, but
      // this runs from a socket event, where a throw would take the process down).
      this.res.destroy();
      return false;
    }
    this.res.end(body);
    return true;
  }

  onError(upstreamFailure: UpstreamFailure): void {
    const failure = this.clientGone ? "aborted" : upstreamFailure;
    if (failure === "aborted") {
      if (!this.res.destroyed) this.res.destroy();
      return this.finish(499, this.sse?.usage ?? null);
    }
    if (this.mode === "sse") {
      // The upstream broke off mid-stream: end the client's stream with an error event rather
      // than a silent truncation the client could mistake for a complete answer.
      this.res.end(STREAM_ERROR_EVENT);
      return this.finish(502, this.sse!.usage);
    }
    if (this.res.headersSent) {
      // Piped bytes already went out: all that is left is to cut the connection.
      this.res.destroy();
      return this.finish(502, null);
    }
    const error =
      failure === "timeout"
        ? GATEWAY_ERRORS.upstreamTimeout
        : this.mode === "buffer"
          ? GATEWAY_ERRORS.upstreamBrokeOff
          : GATEWAY_ERRORS.upstreamUnreachable;
    sendError(this.res, error, this.o.requestId, this.o.extraHeaders);
    this.finish(error.status, null);
  }

  private finish(status: number, usage: TokenUsage | null, complete: (() => void) | null = null): void {
    this.settle({
      status,
      usage,
      dataEvents: this.sse?.dataEvents ?? 0,
      headersAt: this.headersAt,
      complete,
    });
  }

  /** Writes to the client, pausing the upstream until the client catches up. */
  private write(data: string | Buffer): void {
    this.bodyStarted = true;
    if (this.res.write(data)) return;
    const controls = this.controls!;
    controls.pause();
    this.res.once("drain", () => controls.resume());
  }

  private switchToPipe(): void {
    this.mode = "pipe";
    this.writeHead(false);
    const held = this.chunks;
    this.chunks = [];
    for (const c of held) this.write(c);
  }

  private writeHead(keepLength: boolean): void {
    this.res.writeHead(this.status, this.headers(keepLength));
  }

  private headers(keepLength: boolean): string[] {
    return clientResponseHeaders(this.upstreamHeaders, this.o.requestId, keepLength, this.o.extraHeaders);
  }
}

const STREAM_ERROR_EVENT = `event: error\ndata: ${JSON.stringify({
  error: {
    message: "The upstream stream ended unexpectedly.",
    type: "api_error",
    param: null,
    code: "upstream_stream_error",
  },
})}\n\n`;

function filterModelList(body: Buffer, allows: (model: string) => boolean): Buffer {
  try {
    const list = JSON.parse(body.toString("utf8")) as { data?: Array<{ id?: unknown }> };
    if (!Array.isArray(list.data)) return body;
    list.data = list.data.filter((m) => typeof m.id === "string" && allows(m.id));
    return Buffer.from(JSON.stringify(list));
  } catch {
    return body;
  }
}
