import type { UsageEvent } from "../../src/usage/types.js";

/**
 * A usage event for tests and benchmarks: a successful, unstreamed chat completion unless
 * `fields` say otherwise. Identity and time are always the caller's.
 */
export function usageEvent(
  fields: Pick<UsageEvent, "requestId" | "ts" | "keyId" | "projectId"> & Partial<UsageEvent>,
): UsageEvent {
  return {
    method: "POST",
    endpoint: "/v1/chat/completions",
    model: "gpt-4o-mini",
    status: 200,
    streamed: false,
    usage: { prompt: 1, completion: 1, cached: 0 },
    costMicros: 10,
    latencyMs: 5,
    clientIp: null,
    upstreamId: null,
    ...fields,
  };
}
