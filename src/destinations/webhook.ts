import { fetchSender } from "../alerts/sender.js";
import { signatureHeader } from "../alerts/signature.js";
import type { SecretWriter } from "./writer.js";

/** The JSON a webhook destination receives (signed like alert webhooks, with its own secret). */
export interface SecretPushPayload {
  id: string;
  type: "key.secret";
  created_at: string;
  key_id: string;
  key_name: string;
  project_id: string;
  reason: "created" | "rotated";
  secret: string;
  masked_key: string;
  old_key_expires_at: string | null;
}

/**
 * A signed POST for anything else (a secret manager keyward has no client for, a deploy hook).
 * Same headers and HMAC recipe as alert webhooks; the push id is the idempotency id.
 */
export const webhookWriter: SecretWriter = async (req) => {
  if (req.credentials.kind !== "webhook") return { ok: false, error: "not a webhook destination" };
  const payload: SecretPushPayload = {
    id: req.pushId,
    type: "key.secret",
    created_at: new Date(req.nowSeconds * 1000).toISOString(),
    key_id: req.key.id,
    key_name: req.key.name,
    project_id: req.key.project_id,
    reason: req.reason,
    secret: req.secret,
    masked_key: req.key.masked_key,
    old_key_expires_at: req.oldKeyExpiresAt,
  };
  const body = JSON.stringify(payload);
  const { result } = await fetchSender({
    url: req.credentials.url,
    body,
    timeoutMs: req.timeoutMs,
    headers: {
      "content-type": "application/json",
      "user-agent": "keyward-push/1",
      "keyward-webhook-id": req.pushId,
      "keyward-webhook-timestamp": String(req.nowSeconds),
      "keyward-signature": signatureHeader(req.credentials.signing_secret, req.nowSeconds, body),
    },
  });
  if (result.status !== null && result.status >= 200 && result.status < 300) return { ok: true };
  return { ok: false, error: result.status !== null ? `HTTP ${result.status}` : result.error };
};
