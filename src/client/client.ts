import type { AdminKeyView } from "../admins/service.js";
import type { DeliveryView } from "../alerts/delivery-view.js";
import type { CreateWebhookInput, UpdateWebhookInput, WebhookView } from "../alerts/webhook-model.js";
import type { WebhookTestResult, WebhookWithSecret } from "../alerts/webhook-service.js";
import type { AuditEntry } from "../audit/types.js";
import type { ChainReport } from "../audit/verify.js";
import type { Limits } from "../core/limits.js";
import type { KeyView, NamedKeyView } from "../keys/model.js";
import type { CreatedKey, KeyWithSecret, RotatedKey } from "../keys/service.js";
import type { DestinationInput, DestinationView, PushView } from "../destinations/model.js";
import type { AddedDestination } from "../destinations/service.js";
import type { ProjectPolicyPatch, ProjectView } from "../projects/service.js";
import type { UsageRow } from "../usage/query.js";
import type { CreateUpstreamInput, UpdateUpstreamInput, UpstreamView } from "../upstreams/model.js";
import type { TrustPolicy } from "../oidc/policy.js";
import type { CreatedInvitation } from "../people/invitations.js";
import type { SessionView } from "../people/sessions.js";
import type { InvitationView, UserView } from "../people/views.js";

/** An error response from the management API, with its documented code. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    /** Which fields were refused and why (`invalid_request`). */
    readonly details: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

export interface Page<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface VerifyResult {
  valid: boolean;
  code: string;
  key_id: string | null;
  project_id: string | null;
  name: string | null;
  environment: string | null;
  message: string | null;
  [k: string]: unknown;
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * The management API client shared by the CLI and the tests: one place that knows paths,
 * auth and the error envelope.
 */
export class KeywardClient {
  constructor(
    readonly baseUrl: string,
    /** null: calls whose credential is something else (an OIDC token, the key itself). */
    private readonly adminKey: string | null,
  ) {}

  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; headers?: Record<string, string>; raw?: boolean } = {},
  ): Promise<T> {
    const url = new URL("/api/v1" + path, this.baseUrl);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      ...(this.adminKey ? { authorization: `Bearer ${this.adminKey}` } : {}),
      ...options.headers,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new ApiError(0, "connection_failed", `cannot reach keyward at ${this.baseUrl}: ${cause}`, null);
    }
    const text = await res.text();
    if (!res.ok) {
      let code = "http_" + res.status;
      let message = text.slice(0, 200) || res.statusText;
      let requestId: string | null = res.headers.get("x-request-id");
      let details: Array<{ path: string; message: string }> = [];
      try {
        const body = JSON.parse(text) as {
          error?: { code?: string; message?: string; request_id?: string; details?: unknown };
        };
        if (body.error) {
          code = body.error.code ?? code;
          message = body.error.message ?? message;
          requestId = body.error.request_id ?? requestId;
          if (Array.isArray(body.error.details)) details = body.error.details as typeof details;
        }
      } catch {
        // not JSON: keep the raw text
      }
      throw new ApiError(res.status, code, message, requestId, details);
    }
    if (options.raw) return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }

  me() {
    return this.request<{ id: string; name: string; role: string }>("GET", "/me");
  }

  listUsers() {
    return this.request<{ data: UserView[] }>("GET", "/users");
  }

  inviteUser(body: { email: string; role: string; projects?: string[] }) {
    return this.request<CreatedInvitation>("POST", "/users/invitations", { body });
  }

  listInvitations() {
    return this.request<{ data: InvitationView[] }>("GET", "/users/invitations");
  }

  revokeInvitation(id: string) {
    return this.request<void>("DELETE", `/users/invitations/${encodeURIComponent(id)}`);
  }

  updateUser(id: string, body: { role?: string; projects?: string[] | null; disabled?: boolean }) {
    return this.request<{ user: UserView }>("PATCH", `/users/${encodeURIComponent(id)}`, { body });
  }

  userResetLink(id: string) {
    return this.request<{ reset_url: string; expires_at: number }>(
      "POST",
      `/users/${encodeURIComponent(id)}/reset-link`,
    );
  }

  listUserSessions(id: string) {
    return this.request<{ data: SessionView[] }>("GET", `/users/${encodeURIComponent(id)}/sessions`);
  }

  createProject(body: { name: string; description?: string | null; limits?: Limits | null }) {
    return this.request<ProjectView>("POST", "/projects", { body });
  }
  listProjects(query: Query = {}) {
    return this.request<Page<ProjectView>>("GET", "/projects", { query });
  }
  getProject(id: string) {
    return this.request<ProjectView>("GET", `/projects/${encodeURIComponent(id)}`);
  }
  updateProject(
    id: string,
    body: { name?: string; description?: string | null; limits?: Limits | null } & ProjectPolicyPatch,
  ) {
    return this.request<ProjectView>("PATCH", `/projects/${encodeURIComponent(id)}`, { body });
  }

  createKey(projectId: string, body: Record<string, unknown>, idempotencyKey?: string) {
    return this.request<CreatedKey & { pushes?: PushView[] }>(
      "POST",
      `/projects/${encodeURIComponent(projectId)}/keys`,
      {
        body,
        ...(idempotencyKey ? { headers: { "idempotency-key": idempotencyKey } } : {}),
      },
    );
  }
  listKeys(query: Query & { project_id?: string } = {}) {
    return this.request<Page<NamedKeyView>>("GET", "/keys", { query });
  }
  getKey(id: string) {
    return this.request<NamedKeyView>("GET", `/keys/${encodeURIComponent(id)}`);
  }
  updateKey(id: string, body: Record<string, unknown>) {
    return this.request<KeyView>("PATCH", `/keys/${encodeURIComponent(id)}`, { body });
  }
  rotateKey(id: string, graceSeconds = 0, idempotencyKey?: string) {
    return this.request<RotatedKey & { pushes?: PushView[] }>(
      "POST",
      `/keys/${encodeURIComponent(id)}/rotate`,
      {
        body: { grace_seconds: graceSeconds },
        ...(idempotencyKey ? { headers: { "idempotency-key": idempotencyKey } } : {}),
      },
    );
  }
  revokeKey(id: string, reason?: string) {
    return this.request<KeyView>("POST", `/keys/${encodeURIComponent(id)}/revoke`, {
      body: reason ? { reason } : {},
    });
  }
  disableKey(id: string) {
    return this.request<KeyView>("POST", `/keys/${encodeURIComponent(id)}/disable`);
  }
  enableKey(id: string) {
    return this.request<KeyView>("POST", `/keys/${encodeURIComponent(id)}/enable`);
  }
  deleteKey(id: string) {
    return this.request<void>("DELETE", `/keys/${encodeURIComponent(id)}`);
  }
  addDestination(keyId: string, body: DestinationInput) {
    return this.request<AddedDestination>("POST", `/keys/${encodeURIComponent(keyId)}/destinations`, {
      body,
    });
  }
  listDestinations(keyId: string) {
    return this.request<{ data: DestinationView[] }>(
      "GET",
      `/keys/${encodeURIComponent(keyId)}/destinations`,
    );
  }
  removeDestination(keyId: string, destinationId: string) {
    return this.request<void>(
      "DELETE",
      `/keys/${encodeURIComponent(keyId)}/destinations/${encodeURIComponent(destinationId)}`,
    );
  }
  /** Trades a CI's OIDC token for an ephemeral key (no admin key needed). */
  exchangeOidcToken(body: { token: string; project_id?: string; ttl_seconds?: number }) {
    return this.request<KeyWithSecret>("POST", "/oidc/exchange", { body });
  }
  /** Revokes the gateway key `key`, authenticated by that key itself. */
  revokeSelf(key: string) {
    return this.request<KeyView>("POST", "/keys/self/revoke", {
      headers: { authorization: `Bearer ${key}` },
    });
  }
  createTrustPolicy(projectId: string, body: Record<string, unknown>) {
    return this.request<TrustPolicy>("POST", `/projects/${encodeURIComponent(projectId)}/trust-policies`, {
      body,
    });
  }
  listTrustPolicies(projectId: string) {
    return this.request<{ data: TrustPolicy[] }>(
      "GET",
      `/projects/${encodeURIComponent(projectId)}/trust-policies`,
    );
  }
  deleteTrustPolicy(id: string) {
    return this.request<void>("DELETE", `/trust-policies/${encodeURIComponent(id)}`);
  }
  verifyKey(body: { key: string; resource?: string; access?: string; model?: string; ip?: string }) {
    return this.request<VerifyResult>("POST", "/keys/verify", { body });
  }

  createAdminKey(body: { name: string; role: string }) {
    return this.request<AdminKeyView & { key: string }>("POST", "/admin-keys", { body });
  }
  listAdminKeys() {
    return this.request<{ object: "list"; data: AdminKeyView[] }>("GET", "/admin-keys");
  }
  revokeAdminKey(id: string) {
    return this.request<AdminKeyView>("POST", `/admin-keys/${encodeURIComponent(id)}/revoke`);
  }

  usage(query: Query = {}) {
    return this.request<{ object: "list"; group_by: string; data: UsageRow[] }>("GET", "/usage", { query });
  }
  /** Usage rows as CSV text (`GET /usage/export`), same filters as `usage()`. */
  exportUsage(query: Query = {}) {
    return this.request<string>("GET", "/usage/export", { query: { ...query, format: "csv" }, raw: true });
  }

  listAudit(query: Query = {}) {
    return this.request<{
      object: "list";
      data: Array<AuditEntry & { actor_name: string | null }>;
      has_more: boolean;
      next_before_seq: number | null;
    }>("GET", "/audit", { query });
  }
  verifyAudit() {
    return this.request<ChainReport>("GET", "/audit/verify");
  }
  exportAudit(format: "json" | "csv", query: Query = {}) {
    return this.request<string>("GET", "/audit/export", { query: { ...query, format }, raw: true });
  }

  createUpstream(projectId: string, body: CreateUpstreamInput) {
    return this.request<UpstreamView>("POST", `/projects/${encodeURIComponent(projectId)}/upstreams`, {
      body,
    });
  }
  listUpstreams(projectId: string) {
    return this.request<{ object: "list"; data: UpstreamView[] }>(
      "GET",
      `/projects/${encodeURIComponent(projectId)}/upstreams`,
    );
  }
  getUpstream(id: string) {
    return this.request<UpstreamView>("GET", `/upstreams/${encodeURIComponent(id)}`);
  }
  updateUpstream(id: string, body: UpdateUpstreamInput) {
    return this.request<UpstreamView>("PATCH", `/upstreams/${encodeURIComponent(id)}`, { body });
  }
  deleteUpstream(id: string) {
    return this.request<void>("DELETE", `/upstreams/${encodeURIComponent(id)}`);
  }

  createWebhook(body: CreateWebhookInput) {
    return this.request<WebhookWithSecret>("POST", "/webhooks", { body });
  }
  listWebhooks(query: { project_id?: string } = {}) {
    return this.request<{ object: "list"; data: WebhookView[] }>("GET", "/webhooks", { query });
  }
  getWebhook(id: string) {
    return this.request<WebhookView>("GET", `/webhooks/${encodeURIComponent(id)}`);
  }
  updateWebhook(id: string, body: UpdateWebhookInput) {
    return this.request<WebhookView>("PATCH", `/webhooks/${encodeURIComponent(id)}`, { body });
  }
  deleteWebhook(id: string) {
    return this.request<void>("DELETE", `/webhooks/${encodeURIComponent(id)}`);
  }
  listDeliveries(id: string, query: { limit?: number; after?: string } = {}) {
    return this.request<Page<DeliveryView>>("GET", `/webhooks/${encodeURIComponent(id)}/deliveries`, {
      query,
    });
  }
  testWebhook(id: string) {
    return this.request<WebhookTestResult>("POST", `/webhooks/${encodeURIComponent(id)}/test`);
  }
}
