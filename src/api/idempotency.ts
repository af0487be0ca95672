import type { Context } from "hono";
import { canonicalJson } from "../audit/canonical.js";
import { sha256Hex } from "../core/hashing.js";
import type { IdempotentRequest } from "../idempotency/idempotency.js";
import type { ApiEnv } from "./env.js";

/**
 * The idempotency identity of a request: who sent it, their Idempotency-Key, and a hash of
 * what they asked for (method, path, validated body), so reusing a key for a different request
 * is caught. Null when the client sent no Idempotency-Key.
 */
export function idempotentRequest(
  c: Context<ApiEnv>,
  key: string | undefined,
  body: unknown,
): IdempotentRequest | null {
  if (!key) return null;
  return {
    principalId: c.get("principal").id,
    key,
    requestHash: sha256Hex(canonicalJson({ method: c.req.method, path: c.req.path, body })),
  };
}
