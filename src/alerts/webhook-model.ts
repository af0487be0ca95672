import { randomBytes } from "node:crypto";
import { randomBase62 } from "../core/base62.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { WebhooksTable } from "../store/schema.js";

/** Signing secrets look like `whsec_…`. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** 32 base62 characters ≈ 190 bits, like keyward keys. */
const SECRET_BODY_LENGTH = 32;
/** Longest webhook URL accepted. */
export const WEBHOOK_URL_MAX = 2048;

/** A webhook as the API returns it: URL and secret only as hints. */
export interface WebhookView {
  id: string;
  object: "webhook";
  project_id: string | null;
  description: string | null;
  /** Scheme, host and first path segment: the rest may be a token (Slack, Teams). */
  masked_url: string;
  masked_secret: string;
  event_types: string[];
  enabled: boolean;
  created_at: string;
  created_by: string;
  updated_at: string;
}

/** A webhook row as the API shows it (URL and secret as hints only). */
export function toWebhookView(row: WebhooksTable): WebhookView {
  return {
    id: row.id,
    object: "webhook",
    project_id: row.project_id,
    description: row.description,
    masked_url: row.url_hint,
    masked_secret: row.secret_hint,
    event_types: JSON.parse(row.event_types) as string[],
    enabled: row.enabled === 1,
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** The view fields the audit log records (no URL, no secret: only their hints). */
export const AUDITED_FIELDS = ["project_id", "description", "masked_url", "event_types", "enabled"] as const;

/** The audited fields of a webhook view. */
export function auditedSnapshot(v: WebhookView): Record<string, unknown> {
  return Object.fromEntries(AUDITED_FIELDS.map((f) => [f, v[f]]));
}

/** What a webhook is created with (validated by the API schema and again by the service). */
export interface CreateWebhookInput {
  url: string;
  project_id?: string | null;
  description?: string | null;
  event_types?: string[];
  enabled?: boolean;
}

/** A webhook PATCH: any subset of the create fields. */
export type UpdateWebhookInput = Partial<CreateWebhookInput>;

/** A fresh signing secret, `whsec_` + 32 base62 characters from the CSPRNG. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBase62(SECRET_BODY_LENGTH, (n) => randomBytes(n));
}

/** `whsec_…` plus the last four characters. */
export function maskSecret(secret: string): string {
  return `${WEBHOOK_SECRET_PREFIX}…${secret.slice(-4)}`;
}

/** Checks a webhook URL: absolute http(s) with a host, no fragment. Returns the normalised URL. */
export function normalizeWebhookUrl(
  value: string,
): { ok: true; url: string } | { ok: false; problem: string } {
  if (value.length > WEBHOOK_URL_MAX)
    return { ok: false, problem: `must be at most ${WEBHOOK_URL_MAX} characters` };
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { ok: false, problem: "must be an absolute URL, e.g. https://hooks.example.com/keyward" };
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    return { ok: false, problem: "must be http or https" };
  if (!u.hostname) return { ok: false, problem: "must name a host" };
  if (u.hash) return { ok: false, problem: "must not contain a #fragment (it is never sent)" };
  return { ok: true, url: u.toString() };
}

/**
 * What of a URL is safe to show: scheme, host, port and the first path segment. Chat webhooks
 * carry their token in the path (hooks.slack.com/services/T…/B…/<token>) or query.
 */
export function maskUrl(url: string): string {
  const u = new URL(url);
  const segments = u.pathname.split("/").filter(Boolean);
  const first = segments[0] ? `/${segments[0]}` : "";
  const more = segments.length > 1 || u.search ? "/…" : "";
  return `${u.protocol}//${u.host}${first}${more}`;
}

/** Authenticated contexts: a ciphertext opens only in its own row and field. */
const urlContext = (id: string) => `webhook:${id}:url`;
const secretContext = (id: string) => `webhook:${id}:secret`;

/** Encrypts a webhook URL for its row. */
export function sealWebhookUrl(box: SecretBox, id: string, url: string): string {
  return box.seal(url, urlContext(id));
}

/** Encrypts a signing secret for its row. */
export function sealWebhookSecret(box: SecretBox, id: string, secret: string): string {
  return box.seal(secret, secretContext(id));
}

/** The URL and signing secret of a webhook row. Throws SecretBoxError when they cannot be opened. */
export function openWebhook(
  box: SecretBox,
  row: Pick<WebhooksTable, "id" | "url_cipher" | "secret_cipher">,
): { url: string; secret: string } {
  return {
    url: box.open(row.url_cipher, urlContext(row.id)),
    secret: box.open(row.secret_cipher, secretContext(row.id)),
  };
}
