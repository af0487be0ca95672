/**
 * An alert: something a team should hear about (a budget threshold crossed, a key about to
 * expire, a leak). Delivered as signed webhooks through a durable outbox.
 */
export interface AlertEvent {
  /** e.g. `budget.threshold`, `key.expiring`, `key.rate_limited`, `usage.anomaly`, `key.revoked`. */
  type: string;
  /** The key id (`key_…`) or project id (`proj_…`) the alert is about. */
  subject: string;
  projectId: string | null;
  /** Event details for the payload; never a secret. */
  data: Record<string, unknown>;
  /**
   * At most one alert per distinct value, ever (e.g. `budget.threshold:key_…:80:2026-11`), so
   * "once per period" holds across restarts and replicas. Omit for events that always fire.
   */
  dedupeKey?: string;
  /** When it happened (epoch ms). */
  at: number;
}

/**
 * Where code hands alerts over. `emit` never blocks and never throws: callers on the gateway's
 * hot path only append to memory; the implementation persists to the outbox in batches.
 */
export interface AlertSink {
  emit(event: AlertEvent): void;
}
