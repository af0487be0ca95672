import { Pool, errors, type Dispatcher } from "undici";

/** How an upstream call failed before a response arrived. */
export type UpstreamFailure = "timeout" | "unreachable" | "aborted";

/**
 * Keep-alive connection pools, one per upstream origin, created on first use. Timeouts: the
 * upstream must start answering within `timeoutMs`, and a streaming body may not go silent for
 * longer than that either.
 */
export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly timeoutMs: number) {}

  /** `origin` like `https://api.openai.com`; `path` including the query string. */
  request(
    origin: string,
    path: string,
    options: {
      method: Dispatcher.HttpMethod;
      headers: Record<string, string>;
      body: Buffer | NodeJS.ReadableStream | null;
      signal: AbortSignal;
    },
  ): Promise<Dispatcher.ResponseData> {
    return this.pool(origin).request({
      path,
      method: options.method,
      headers: options.headers,
      body: options.body as Dispatcher.DispatchOptions["body"],
      signal: options.signal,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
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

/** Classifies an error thrown by a request or while reading its body. */
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
