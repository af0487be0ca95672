import { Pool, errors, type Dispatcher } from "undici";

/** How an upstream call failed before a response arrived. */
export type UpstreamFailure = "timeout" | "unreachable" | "aborted";

/** One upstream request: where it goes and what it carries. */
export interface UpstreamRequest {
  method: Dispatcher.HttpMethod;
  /** Path including the query string. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | NodeJS.ReadableStream | null;
}

/**
 * Keep-alive connection pools, one per upstream origin, created on first use. Requests are
 * dispatched with a handler (see ResponseRelay) rather than through `request()`, which would
 * wrap every response in a stream and every request in an AbortSignal. Timeouts: the upstream
 * must start answering within `timeoutMs`, and a streaming body may not go silent for longer
 * than that either.
 */
export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly timeoutMs: number) {}

  /** `origin` like `https://api.openai.com`. The handler hears everything, errors included. */
  dispatch(origin: string, request: UpstreamRequest, handler: Dispatcher.DispatchHandler): void {
    this.pool(origin).dispatch(
      {
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body as Dispatcher.DispatchOptions["body"],
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      },
      handler,
    );
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 256, keepAliveTimeout: 30_000, pipelining: 1 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}

/** Classifies an error from an upstream exchange. */
export function classifyFailure(err: unknown): UpstreamFailure {
  if (
    err instanceof errors.HeadersTimeoutError ||
    err instanceof errors.BodyTimeoutError ||
    err instanceof errors.ConnectTimeoutError
  ) {
    return "timeout";
  }
  if (err instanceof errors.RequestAbortedError || (err instanceof Error && err.name === "AbortError"))
    return "aborted";
  return "unreachable";
}
