/** Token counts of one served request. */
export interface TokenUsage {
  prompt: number;
  completion: number;
  cached: number;
}

/** One metered request, as recorded (exactly once, keyed by request id). */
export interface UsageEvent {
  requestId: string;
  ts: number;
  keyId: string;
  projectId: string;
  method: string;
  endpoint: string;
  model: string | null;
  status: number;
  streamed: boolean;
  usage: TokenUsage;
  costMicros: number;
  latencyMs: number;
  clientIp: string | null;
  upstreamId: string | null;
}
