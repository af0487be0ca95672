/**
 * Response headers as received: a flat list `[name, value, name, value, …]` with lower-case
 * names, repeated names kept. Flat because Node's `writeHead` takes the same shape, so a relayed
 * head is turned into a list once and never back into an object.
 */
export type ResponseHeaders = string[];

/** The value of a header, repeated fields joined by ", " (RFC 9110 §5.3); undefined if absent. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) value = value === undefined ? headers[i + 1]! : `${value}, ${headers[i + 1]!}`;
  }
  return value;
}

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
