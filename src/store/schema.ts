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
}

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
