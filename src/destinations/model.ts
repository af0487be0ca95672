import { KeywardError, type ErrorDetail } from "../core/errors.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { KeyDestinationsTable, SecretPushStatus } from "../store/schema.js";
import { maskUrl, normalizeWebhookUrl } from "../alerts/webhook-model.js";

/** Where a key's secret can be pushed. */
export const DESTINATION_KINDS = ["aws_secrets_manager", "vault_kv2", "webhook"] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** Most destinations one key may have. */
export const DESTINATIONS_PER_KEY_MAX = 5;

/** What a destination is added with (validated by the API schema, and again here). */
export type DestinationInput =
  | {
      kind: "aws_secrets_manager";
      region: string;
      /** Name or ARN; created on the first push when it does not exist. */
      secret_id: string;
      /** Store the secret as this field of a JSON object (merged into what is there) instead of as the whole value. */
      json_key?: string;
      /** A VPC endpoint (or a stand-in in tests); default: the region's public endpoint. */
      endpoint?: string;
      /** Without these the AWS SDK's default chain is used (environment, instance or task role). */
      access_key_id?: string;
      secret_access_key?: string;
      session_token?: string;
    }
  | {
      kind: "vault_kv2";
      /** e.g. https://vault.example.com:8200 */
      address: string;
      /** The KV v2 mount (default `secret`). */
      mount?: string;
      path: string;
      /** The field of the secret that holds the key (default `OPENAI_API_KEY`); other fields are kept. */
      field?: string;
      namespace?: string;
      token: string;
    }
  | { kind: "webhook"; url: string };

/** Settings that are safe to show and store in the clear, per kind. */
export type DestinationConfig =
  | {
      kind: "aws_secrets_manager";
      region: string;
      secret_id: string;
      json_key: string | null;
      endpoint: string | null;
      credentials: "static" | "default_chain";
    }
  | {
      kind: "vault_kv2";
      address: string;
      mount: string;
      path: string;
      field: string;
      namespace: string | null;
    }
  | { kind: "webhook"; masked_url: string };

/** What is sealed: credentials, and a webhook's full URL (it may carry a token) and signing secret. */
export type DestinationCredentials =
  | {
      kind: "aws_secrets_manager";
      access_key_id?: string;
      secret_access_key?: string;
      session_token?: string;
    }
  | { kind: "vault_kv2"; token: string }
  | { kind: "webhook"; url: string; signing_secret: string };

/** A destination as the API returns it: never a credential. */
export interface DestinationView {
  id: string;
  object: "destination";
  key_id: string;
  config: DestinationConfig;
  created_at: string;
  created_by: string;
  /** The latest push to it, if any. */
  last_push: PushView | null;
}

/** A push as the API returns it. */
export interface PushView {
  id: string;
  destination_id: string;
  reason: "created" | "rotated";
  masked_key: string;
  status: SecretPushStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const AWS_SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;

/** Is this host this machine? Secrets may travel over plain http only to it. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** An https URL (http only to loopback: a secret never crosses a network in the clear). */
function secureUrl(value: string, path: string, problems: ErrorDetail[]): string {
  const r = normalizeWebhookUrl(value);
  if (!r.ok) {
    problems.push({ path, message: r.problem });
    return value;
  }
  const u = new URL(r.url);
  if (u.protocol === "http:" && !isLoopback(u.hostname))
    problems.push({
      path,
      message: "must be https (a secret is sent there; http is accepted only for localhost)",
    });
  return r.url;
}

/**
 * Validates an input and splits it into what is stored in the clear and what is sealed.
 * Throws `invalid_request` naming every problem; `signingSecret` is the webhook's new secret.
 */
export function splitDestination(
  input: DestinationInput,
  signingSecret: string,
): { config: DestinationConfig; credentials: DestinationCredentials } {
  const problems: ErrorDetail[] = [];
  let result: { config: DestinationConfig; credentials: DestinationCredentials };
  switch (input.kind) {
    case "aws_secrets_manager": {
      if (!REGION.test(input.region))
        problems.push({ path: "region", message: "must be an AWS region, e.g. eu-west-1" });
      if (!AWS_SECRET_ID.test(input.secret_id))
        problems.push({ path: "secret_id", message: "must be a secret name or ARN" });
      const hasId = input.access_key_id !== undefined;
      if (hasId !== (input.secret_access_key !== undefined))
        problems.push({
          path: "secret_access_key",
          message: "access_key_id and secret_access_key go together",
        });
      if (input.session_token !== undefined && !hasId)
        problems.push({ path: "session_token", message: "needs access_key_id and secret_access_key" });
      const endpoint = input.endpoint === undefined ? null : secureUrl(input.endpoint, "endpoint", problems);
      const { kind, access_key_id, secret_access_key, session_token } = input;
      result = {
        config: {
          kind,
          region: input.region,
          secret_id: input.secret_id,
          json_key: input.json_key ?? null,
          endpoint,
          credentials: hasId ? "static" : "default_chain",
        },
        credentials: {
          kind,
          ...(access_key_id !== undefined ? { access_key_id } : {}),
          ...(secret_access_key !== undefined ? { secret_access_key } : {}),
          ...(session_token !== undefined ? { session_token } : {}),
        },
      };
      break;
    }
    case "vault_kv2": {
      const address = secureUrl(input.address, "address", problems).replace(/\/+$/, "");
      const mount = input.mount ?? "secret";
      const segments = [...mount.split("/"), ...input.path.split("/")];
      if (segments.some((s) => !SEGMENT.test(s) || s === "." || s === ".."))
        problems.push({
          path: "path",
          message: "mount and path are /-separated names of letters, digits, . _ -",
        });
      if (input.token.length === 0) problems.push({ path: "token", message: "must not be empty" });
      result = {
        config: {
          kind: "vault_kv2",
          address,
          mount,
          path: input.path,
          field: input.field ?? "OPENAI_API_KEY",
          namespace: input.namespace ?? null,
        },
        credentials: { kind: "vault_kv2", token: input.token },
      };
      break;
    }
    case "webhook": {
      const url = secureUrl(input.url, "url", problems);
      result = {
        config: { kind: "webhook", masked_url: problems.length ? "" : maskUrl(url) },
        credentials: { kind: "webhook", url, signing_secret: signingSecret },
      };
      break;
    }
  }
  if (problems.length)
    throw new KeywardError("invalid_request", `invalid ${input.kind} destination`, problems);
  return result;
}

/** Authenticated contexts: a ciphertext opens only in its own row. */
const credentialsContext = (id: string) => `destination:${id}:credentials`;
const pushContext = (id: string) => `secret_push:${id}`;

export function sealCredentials(box: SecretBox, id: string, c: DestinationCredentials): string {
  return box.seal(JSON.stringify(c), credentialsContext(id));
}

/** Throws SecretBoxError when the ciphertext cannot be opened. */
export function openCredentials(
  box: SecretBox,
  row: Pick<KeyDestinationsTable, "id" | "credentials_cipher">,
): DestinationCredentials {
  return JSON.parse(box.open(row.credentials_cipher, credentialsContext(row.id))) as DestinationCredentials;
}

export function sealPushSecret(box: SecretBox, pushId: string, secret: string): string {
  return box.seal(secret, pushContext(pushId));
}

export function openPushSecret(box: SecretBox, pushId: string, cipher: string): string {
  return box.open(cipher, pushContext(pushId));
}
