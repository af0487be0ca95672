import { CallbackGauge, Counter, Histogram, Registry } from "./registry.js";

const MS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** The gateway's metrics, created once per process and passed in. */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter;
  upstreamLatency: Histogram;
  overhead: Histogram;
}

/** Builds the registry; `sources` are read at scrape time. */
export function createGatewayMetrics(sources: {
  cacheHits: () => number;
  cacheMisses: () => number;
  usagePending: () => number;
  /** 1 while this replica hears other replicas' changes (or runs alone), else 0. */
  clusterListening: () => number;
  /** 1 while rate limits are counted across replicas (Redis reachable), else 0. */
  limitsShared: () => number;
}): GatewayMetrics {
  const registry = new Registry();
  const requests = registry.register(
    new Counter("keyward_gateway_requests_total", "Gateway requests by endpoint and status code", [
      "endpoint",
      "code",
    ]),
  );
  const upstreamLatency = registry.register(
    new Histogram("keyward_upstream_latency_ms", "Time to upstream response headers (ms)", MS_BUCKETS, [
      "endpoint",
    ]),
  );
  const overhead = registry.register(
    new Histogram(
      "keyward_gateway_overhead_ms",
      "Time keyward adds before forwarding: parse, verify, checks (ms)",
      MS_BUCKETS,
    ),
  );
  registry.register(
    new CallbackGauge("keyward_key_cache_hits_total", "Verify cache hits", sources.cacheHits),
  );
  registry.register(
    new CallbackGauge("keyward_key_cache_misses_total", "Verify cache misses", sources.cacheMisses),
  );
  registry.register(
    new CallbackGauge("keyward_key_cache_hit_ratio", "Verify cache hit ratio since start", () => {
      const h = sources.cacheHits();
      const total = h + sources.cacheMisses();
      return total ? h / total : 0;
    }),
  );
  registry.register(
    new CallbackGauge(
      "keyward_cluster_listening",
      "1 while this replica hears other replicas' changes; 0: the verify cache is off until it reconnects",
      sources.clusterListening,
    ),
  );
  registry.register(
    new CallbackGauge(
      "keyward_limits_shared",
      "1 while rate and concurrency limits are counted across replicas (Redis); 0: per process (see /readyz)",
      sources.limitsShared,
    ),
  );
  registry.register(
    new CallbackGauge(
      "keyward_usage_events_pending",
      "Usage events accepted, not yet written",
      sources.usagePending,
    ),
  );
  return { registry, requests, upstreamLatency, overhead };
}
