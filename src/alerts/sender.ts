import type { AttemptResult } from "./retry.js";

/** One signed POST to make. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** How a POST went. */
export interface SendOutcome {
  result: AttemptResult;
  /** Wall-clock time of the attempt (real time, not the injected clock). */
  durationMs: number;
}

/** How a webhook request leaves the process; an interface so tests or a proxy can replace it. */
export type WebhookSender = (req: WebhookRequest) => Promise<SendOutcome>;

/**
 * POSTs with Node's fetch. Redirects are not followed (a 3xx is a failed attempt: the signature
 * and body must reach the URL that was configured); the whole attempt is bounded by
 * `timeoutMs`. The response body is discarded unread. Errors name the cause, never the URL
 * (it may carry a token).
 */
export const fetchSender: WebhookSender = async (req) => {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(req.url, {
      method: "POST",
      headers: req.headers,
      body: req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return { result: { status: res.status, error: null }, durationMs: elapsed() };
  } catch (err) {
    return { result: { status: null, error: describeFetchError(err, req.timeoutMs) }, durationMs: elapsed() };
  }
};

/** A short, URL-free reason: `timeout after 10000 ms`, `ECONNREFUSED`, … */
export function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `timeout after ${timeoutMs} ms`;
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return cause.message.slice(0, 200);
  return err instanceof Error ? err.message.slice(0, 200) : "request failed";
}
