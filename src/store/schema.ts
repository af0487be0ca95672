/**
 * Table types shared by SQLite and PostgreSQL. Times are epoch milliseconds (bigint in
 * PostgreSQL, integer in SQLite); JSON values are stored as canonical text so both dialects
 * read back the same bytes (which the audit hash chain relies on).
 */
export interface ProjectsTable {
  id: string;
  name: string;
  description: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
  /** JSON `Limits` (src/core/limits.ts), or null for none. */
  limits: string | null;
  /** Rotation policy: keys must be rotated within this many days (null = no maximum age). */
  rotation_max_age_days: number | null;
  /** 1 = expire keys at their rotation deadline; 0 = only warn. */
  rotation_enforce: number;
  /** Keys unused for this many days are stale (null = never flagged). */
  stale_after_days: number | null;
  /** What a reported leak of one of its keys does (migration 0006). */
  leak_action: LeakAction;
  /** Longest life of an ephemeral key (`keyward run`), in seconds (migration 0008). */
  ephemeral_max_ttl_seconds: number;
}

/** A project's policy for reported leaks: revoke (default, for good) or disable (reversible). */
export type LeakAction = "revoke" | "disable";

export type KeyStatus = "active" | "disabled" | "revoked";
export type KeyEnvironment = "live" | "test";

export interface ApiKeysTable {
  id: string;
  project_id: string;
  name: string;
  environment: KeyEnvironment;
  status: KeyStatus;
  permissions: string;
  allowed_models: string | null;
  allowed_ips: string | null;
  metadata: string;
  hint: string;
  created_at: number;
  created_by: string;
  updated_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** JSON `Limits` (src/core/limits.ts), or null for none. */
  limits: string | null;
  /** When the secret was last rotated (null = never): the rotation policy counts from here. */
  rotated_at: number | null;
  /** 1 = a canary key: never valid, any use raises `key.canary_used` (migration 0006). */
  canary: number;
}

/** A key's secrets: one current (expires_at null) plus superseded ones still in their grace period. */
export interface KeySecretsTable {
  hash: string;
  key_id: string;
  hint: string;
  created_at: number;
  expires_at: number | null;
}

export interface AdminKeysTable {
  id: string;
  name: string;
  role: string;
  hash: string;
  hint: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AuditLogTable {
  seq: number;
  id: string;
  ts: number;
  actor_id: string;
  actor_role: string | null;
  action: string;
  target_type: string;
  target_id: string;
  project_id: string | null;
  ip: string | null;
  user_agent: string | null;
  changes: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1) holding the chain head, so truncating the log's tail is detectable too. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface IdempotencyTable {
  id: string;
  principal_id: string;
  request_hash: string;
  status: number;
  response_cipher: string;
  created_at: number;
}

export interface DB {
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  key_secrets: KeySecretsTable;
  admin_keys: AdminKeysTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  idempotency: IdempotencyTable;
  upstreams: UpstreamsTable;
  usage_events: UsageEventsTable;
  alert_events: AlertEventsTable;
  webhooks: WebhooksTable;
  webhook_outbox: WebhookOutboxTable;
  webhook_deliveries: WebhookDeliveriesTable;
  alert_state: AlertStateTable;
  key_ips: KeyIpsTable;
  usage_key_hourly: UsageKeyRollupTable;
  usage_key_daily: UsageKeyRollupTable;
  usage_project_hourly: UsageProjectRollupTable;
  usage_project_daily: UsageProjectRollupTable;
  usage_key_span_1d: UsageKeySpanTable;
  usage_key_span_5d: UsageKeySpanTable;
  usage_key_span_15d: UsageKeySpanTable;
  usage_key_span_45d: UsageKeySpanTable;
  leak_reports: LeakReportsTable;
  trust_policies: TrustPoliciesTable;
  oidc_token_uses: OidcTokenUsesTable;
  key_destinations: KeyDestinationsTable;
  secret_pushes: SecretPushesTable;
  replicas: ReplicasTable;
  budget_ledger: BudgetLedgerTable;
  budget_holds: BudgetHoldsTable;
  login_failures: LoginFailuresTable;
  users: UsersTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
}

/** A person who signs in (migration 0012); see src/people/. */
export interface UsersTable {
  id: string;
  /** Lower-cased. */
  email: string;
  display_name: string;
  role: string;
  /** JSON array of project ids; null = every project. */
  projects: string | null;
  /** Argon2id, PHC string. */
  password_hash: string;
  created_at: number;
  created_by: string;
  updated_at: number;
  disabled_at: number | null;
}

/** A signed-in browser (migration 0012): only the token's hash is stored. */
export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  /** The absolute end of the session. */
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
}

export type InvitationKind = "setup" | "invite" | "reset";

/** A one-time link (migration 0012): only the token's hash is stored. */
export interface InvitationsTable {
  id: string;
  token_hash: string;
  kind: InvitationKind;
  email: string | null;
  role: string;
  projects: string | null;
  user_id: string | null;
  created_at: number;
  created_by: string;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

/** A serving process's heartbeat (migration 0011); see src/cluster/heartbeat.ts. */
/** One failed sign-in, counted against an account or an IP (hashed). */
export interface LoginFailuresTable {
  id: string;
  subject_hash: string;
  at: number;
}

export interface ReplicasTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  seen_at: number;
}

/** Spent and reserved micro-dollars of one subject in one budget period (migration 0013). */
export interface BudgetLedgerTable {
  scope: string;
  subject_id: string;
  period_key: string;
  spent: number;
  reserved: number;
}

/** One in-flight request's budget reservation; released by a sweep once `expires_at` passed. */
export interface BudgetHoldsTable {
  id: string;
  scope: string;
  subject_id: string;
  period_key: string;
  amount: number;
  /** The process holding it (renews `expires_at` while the request is in flight). */
  owner: string;
  expires_at: number;
}

/** A project's trust in a CI identity (migration 0009); see src/oidc/. */
export interface TrustPoliciesTable {
  id: string;
  project_id: string;
  name: string;
  /** The OIDC issuer, exactly as tokens carry it in `iss`. */
  issuer: string;
  audience: string;
  /** JSON object: claim name → pattern (`*` matches any run of characters). */
  conditions: string;
  /** JSON `TrustGrant`: what a matching run may mint. */
  grant: string;
  created_at: number;
  created_by: string;
}

/** An exchanged OIDC token, by issuer and `jti`: a second exchange of it is a replay. */
export interface OidcTokenUsesTable {
  issuer: string;
  jti: string;
  expires_at: number;
}

/** A processed leak report, by SHA-256 of its source and raw body: replays are recognised. */
export interface LeakReportsTable {
  body_hash: string;
  source: string;
  tokens: number;
  received_at: number;
  /** Keys the report contained (migration 0017; null for reports processed before it). */
  contained: number | null;
}

export interface UpstreamsTable {
  id: string;
  project_id: string;
  name: string;
  base_url: string;
  api_key_cipher: string;
  key_hint: string;
  organization: string | null;
  openai_project: string | null;
  priority: number;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface UsageEventsTable {
  request_id: string;
  ts: number;
  key_id: string;
  project_id: string;
  method: string;
  endpoint: string;
  model: string | null;
  status: number;
  streamed: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_micros: number;
  latency_ms: number;
  client_ip: string | null;
  upstream_id: string | null;
}

/** An alert that happened (src/alerts/types.ts), recorded once per `dedupe_key`. */
export interface AlertEventsTable {
  id: string;
  type: string;
  subject: string;
  project_id: string | null;
  /** JSON object. */
  data: string;
  dedupe_key: string | null;
  occurred_at: number;
  recorded_at: number;
}

export interface WebhooksTable {
  id: string;
  /** Only this project's events; null = every event. */
  project_id: string | null;
  description: string | null;
  /** SecretBox ciphertext of the URL (it may carry a token, e.g. Slack's). */
  url_cipher: string;
  url_hint: string;
  /** SecretBox ciphertext of the signing secret (`whsec_…`). */
  secret_cipher: string;
  secret_hint: string;
  /** JSON array of event types / `prefix.*` / `*`. */
  event_types: string;
  enabled: number;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export type OutboxStatus = "pending" | "delivered" | "failed";

/** One event to deliver to one webhook: the durable outbox. */
export interface WebhookOutboxTable {
  id: string;
  webhook_id: string;
  /** The alert event id: the idempotency id the receiver sees (payload `id`, `keyward-webhook-id`). */
  event_id: string;
  type: string;
  /** The exact JSON body sent. */
  payload: string;
  attempts: number;
  next_attempt_at: number;
  status: OutboxStatus;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export type DeliveryOutcome = "delivered" | "retrying" | "failed";

/** One delivery attempt: the per-webhook delivery log. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  outbox_id: string;
  event_id: string;
  type: string;
  attempt: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  outcome: DeliveryOutcome;
  next_retry_at: number | null;
  attempted_at: number;
}

/** Named cursors of the alert workers. */
export interface AlertStateTable {
  name: string;
  value: number;
}

export interface KeyIpsTable {
  key_id: string;
  ip: string;
  first_seen_at: number;
}

/** Sums of usage_events in one bucket (migration 0005): model '' stands for "no model". */
export interface UsageProjectRollupTable {
  /** Start of the UTC hour or day, epoch ms. */
  bucket_start: number;
  project_id: string;
  model: string;
  requests: number;
  /** Requests answered with status ≥ 400. */
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_micros: number;
}

/** The same sums, per key too. */
export interface UsageKeyRollupTable extends UsageProjectRollupTable {
  key_id: string;
}

/** Per-key sums over aligned spans of whole days, without the model (migration 0016). */
export type UsageKeySpanTable = Omit<UsageKeyRollupTable, "model">;

/** Where a key's secret is pushed on create and rotate (migration 0010); see src/destinations/. */
export interface KeyDestinationsTable {
  id: string;
  key_id: string;
  project_id: string;
  kind: "aws_secrets_manager" | "vault_kv2" | "webhook";
  /** JSON of the non-secret settings (region, secret id, address, path, URL host…). */
  config: string;
  /** The destination's credentials (and a webhook's URL and signing secret), sealed JSON. */
  credentials_cipher: string;
  created_at: number;
  created_by: string;
}

export type SecretPushStatus = "pending" | "delivered" | "failed" | "superseded" | "cancelled";

/** One secret to write to one destination (the push outbox). */
export interface SecretPushesTable {
  id: string;
  destination_id: string;
  key_id: string;
  reason: "created" | "rotated";
  /** The secret, sealed; null once the push is finished (never kept longer than needed). */
  secret_cipher: string | null;
  masked_key: string;
  /** Until when the secret this one replaced keeps working (a rotation's grace period). */
  old_key_expires_at: number | null;
  status: SecretPushStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}
