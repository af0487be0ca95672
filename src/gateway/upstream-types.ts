import type { ResponseHeaders } from "./http1/response-parser.js";

export type { ResponseHeaders };

/** How an upstream call failed. */
export type UpstreamFailure = "timeout" | "unreachable" | "aborted";

/** One upstream request: where it goes and what it carries. */
export interface UpstreamRequest {
  method: string;
  /** Path including the query string. */
  path: string;
  /** Lower-case names; no `host`, no hop-by-hop headers (the client adds its own framing). */
  headers: Record<string, string>;
  /** A buffer, a stream to forward as it arrives (sent chunked unless `content-length` is set), or none. */
  body: Buffer | NodeJS.ReadableStream | null;
}

/** What a handler may do to its exchange while it runs. */
export interface UpstreamControls {
  /**
   * Stop reading the response (the client is slower than the upstream). While paused the
   * exchange may wait ten times its timeout before it is cut.
   */
  pause(): void;
  resume(): void;
  /** Give up on the exchange: its connection is closed, and the handler hears `onError("aborted")`. */
  abort(): void;
}

/**
 * Hears one exchange, in order: `onStart` (synchronously, from dispatch), then either
 * `onHeaders`, any number of `onData` and `onEnd`, or `onError` at any point — exactly one of
 * `onEnd` and `onError`, and nothing after it.
 */
export interface UpstreamHandler {
  onStart(controls: UpstreamControls): void;
  onHeaders(status: number, headers: ResponseHeaders): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(failure: UpstreamFailure, err: Error): void;
}
