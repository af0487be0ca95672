import type { KeyDestinationsTable, SecretPushesTable } from "../store/schema.js";
import type { DestinationConfig, DestinationView, PushView } from "./model.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A push row as the API shows it (never its ciphertext). */
export function toPushView(p: SecretPushesTable): PushView {
  return {
    id: p.id,
    destination_id: p.destination_id,
    reason: p.reason,
    masked_key: p.masked_key,
    status: p.status,
    attempts: p.attempts,
    next_attempt_at: p.status === "pending" ? iso(p.next_attempt_at) : null,
    last_error: p.last_error,
    created_at: new Date(p.created_at).toISOString(),
    finished_at: iso(p.finished_at),
  };
}

/** A destination row as the API shows it: its clear settings and latest push, no credential. */
export function toDestinationView(
  row: KeyDestinationsTable,
  latest: SecretPushesTable | null,
): DestinationView {
  return {
    id: row.id,
    object: "destination",
    key_id: row.key_id,
    config: JSON.parse(row.config) as DestinationConfig,
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
    last_push: latest ? toPushView(latest) : null,
  };
}
