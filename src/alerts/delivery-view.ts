import { isoOrNull } from "../core/objects.js";
import type { DeliveryOutcome, WebhookDeliveriesTable } from "../store/schema.js";

/** One delivery attempt as the API returns it (the per-webhook delivery log). */
export interface DeliveryView {
  id: string;
  object: "webhook_delivery";
  webhook_id: string;
  /** The alert event id: the receiver's idempotency id. */
  event_id: string;
  type: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
  /** The receiver's HTTP status; null when no response came (refused, timeout). */
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  outcome: DeliveryOutcome;
  /** When the next attempt is due (outcome `retrying`). */
  next_retry_at: string | null;
  attempted_at: string;
}

/** A delivery log row as the API shows it. */
export function toDeliveryView(row: WebhookDeliveriesTable): DeliveryView {
  return {
    id: row.id,
    object: "webhook_delivery",
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    type: row.type,
    attempt: row.attempt,
    status_code: row.status_code,
    duration_ms: row.duration_ms,
    error: row.error,
    outcome: row.outcome,
    next_retry_at: isoOrNull(row.next_retry_at),
    attempted_at: new Date(row.attempted_at).toISOString(),
  };
}
