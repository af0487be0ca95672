import type { DestinationInput } from "../destinations/model.js";
import { isoOrNull } from "../core/objects.js";
import type { Limits } from "../core/limits.js";
import type { Permissions } from "../core/permissions.js";
import { isStale, rotateBy, type RotationPolicy } from "../core/rotation-policy.js";
import type { ApiKeysTable, KeyEnvironment } from "../store/schema.js";

/** A key's status as users see it: `expired` is derived from `expires_at` at read time. */
export type KeyStatusView = "active" | "disabled" | "revoked" | "expired";

/** The stored status combined with the clock. */
export function effectiveStatus(
  row: Pick<ApiKeysTable, "status" | "expires_at">,
  now: number,
): KeyStatusView {
  if (row.status === "revoked") return "revoked";
  if (row.expires_at !== null && row.expires_at <= now) return "expired";
  return row.status;
}

/** A key as the API returns it: masked, never the secret. */
export interface KeyView {
  id: string;
  object: "api_key";
  project_id: string;
  name: string;
  environment: KeyEnvironment;
  status: KeyStatusView;
  masked_key: string;
  permissions: Permissions;
  allowed_models: string[] | null;
  allowed_ips: string[] | null;
  metadata: Record<string, unknown>;
  limits: Limits | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** When the secret was last rotated (null = never). */
  rotated_at: string | null;
  /** The project's rotation deadline for this key (null = no maximum age, or revoked). */
  rotate_by: string | null;
  /** Active and not used for the project's stale_after_days. */
  stale: boolean;
  /** A canary key: never valid; any use raises `key.canary_used`. */
  canary: boolean;
}

/** A key as the list and the detail show it: with its creator's name (null: not known any more). */
export interface NamedKeyView extends KeyView {
  created_by_name: string | null;
}

/**
 * A key as the API shows it. `policy` is its project's rotation policy (rotate_by, stale);
 * null only for snapshots where those derived fields do not matter (e.g. audit of a deletion).
 */
export function toKeyView(row: ApiKeysTable, now: number, policy: RotationPolicy | null): KeyView {
  return {
    id: row.id,
    object: "api_key",
    project_id: row.project_id,
    name: row.name,
    environment: row.environment,
    status: effectiveStatus(row, now),
    masked_key: row.hint,
    permissions: JSON.parse(row.permissions) as Permissions,
    allowed_models: row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]),
    allowed_ips: row.allowed_ips === null ? null : (JSON.parse(row.allowed_ips) as string[]),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    limits: row.limits === null ? null : (JSON.parse(row.limits) as Limits),
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
    updated_at: new Date(row.updated_at).toISOString(),
    last_used_at: isoOrNull(row.last_used_at),
    expires_at: isoOrNull(row.expires_at),
    revoked_at: isoOrNull(row.revoked_at),
    revoked_reason: row.revoked_reason,
    rotated_at: isoOrNull(row.rotated_at),
    rotate_by: policy ? isoOrNull(rotateBy(row, policy)) : null,
    stale: policy ? isStale(row, policy, now) : false,
    canary: row.canary === 1,
  };
}

/** Settings a key is created with (validated by the API schema before they get here). */
export interface KeySettings {
  name: string;
  permissions: Permissions;
  allowed_models: string[] | null;
  allowed_ips: string[] | null;
  metadata: Record<string, unknown>;
  expires_at: number | null;
  limits: Limits | null;
}

export interface CreateKeyInput extends Partial<KeySettings> {
  name: string;
  environment?: KeyEnvironment;
  /** A tripwire key: never valid, any use is alerted and audited. */
  canary?: boolean;
  /** An ephemeral key's life in seconds: at most the project's ephemeral_max_ttl_seconds. */
  ephemeral_ttl_seconds?: number;
  /** Secret managers the key is written to now and at every rotation. */
  destinations?: DestinationInput[];
}

export type UpdateKeyInput = Partial<KeySettings>;
