import type tls from "node:tls";
import { OriginPool, refuse } from "./http1/origin-pool.js";
import type { UpstreamHandler, UpstreamRequest } from "./upstream-types.js";

export interface UpstreamClientOptions {
  /**
   * The upstream must make progress within this many ms: connect and answer with headers, and
   * never go silent longer than this mid-body (a paused exchange — a slow client — gets ten
   * times as long).
   */
  timeoutMs: number;
  /** Connections per origin at most; more requests queue. Default 256. */
  maxConnections?: number;
  /**
   * Longest an idle keep-alive connection is kept, when the upstream does not say (it may close
   * one sooner without saying, and a request sent as it does fails). Default 4 s.
   */
  idleMs?: number;
  /** Extra TLS options for https upstreams (a private CA, for instance). */
  tls?: tls.ConnectionOptions;
}

/**
 * Keep-alive HTTP/1.1 connections to the upstreams, one pool per origin created on first use
 * (see OriginPool). One sweep timer per client checks every pool's deadlines, a quarter of the
 * timeout apart (at most a second), so a request fails at most 25% (or 1 s) after its deadline
 * and no request pays for a timer of its own.
 */
export class UpstreamClient {
  private readonly pools = new Map<string, OriginPool>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;
  private closed = false;

  constructor(private readonly o: UpstreamClientOptions) {
    this.sweepMs = Math.max(10, Math.min(1000, Math.floor(o.timeoutMs / 4)));
  }

  /** `origin` like `https://api.openai.com`. The handler hears everything, errors included. */
  dispatch(origin: string, request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.closed) return refuse(handler, new Error("the upstream client is closed"));
    this.pool(origin).dispatch(request, handler);
  }

  /** Open connections to `origin` (idle and busy). */
  connections(origin: string): number {
    return this.pools.get(origin)?.connections ?? 0;
  }

  private pool(origin: string): OriginPool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new OriginPool(new URL(origin), {
        timeoutMs: this.o.timeoutMs,
        maxConnections: this.o.maxConnections ?? 256,
        idleMs: this.o.idleMs ?? 4_000,
        ...(this.o.tls ? { tls: this.o.tls } : {}),
      });
      this.pools.set(origin, pool);
      if (!this.sweeper) {
        this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
        this.sweeper.unref();
      }
    }
    return pool;
  }

  private sweep(): void {
    const now = performance.now();
    for (const pool of this.pools.values()) pool.sweep(now);
  }

  /**
   * Refuses new requests; waits for running and queued ones to end (timeouts still apply),
   * then closes every connection.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.pools.clear();
  }
}
