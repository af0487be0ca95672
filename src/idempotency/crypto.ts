import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { sha256Hex } from "../core/hashing.js";

/**
 * A replayable response may contain a fresh secret (create / rotate), and secrets are never
 * stored in plaintext. So the stored response is AES-256-GCM encrypted under a key derived from
 * the client's Idempotency-Key itself, which keyward stores only as a hash: only a client that
 * presents the same Idempotency-Key again can read the response back.
 */
function deriveKey(idempotencyKey: string, principalId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", idempotencyKey, principalId, "keyward idempotency v1", 32));
}

/** The row id: a hash of principal and Idempotency-Key (the key itself is never stored). */
export function idempotencyRowId(principalId: string, idempotencyKey: string): string {
  return sha256Hex(`${principalId}\n${idempotencyKey}`);
}

export function sealResponse(plaintext: string, idempotencyKey: string, principalId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(idempotencyKey, principalId), iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function openResponse(sealed: string, idempotencyKey: string, principalId: string): string {
  const buf = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv(
    "aes-256-gcm",
    deriveKey(idempotencyKey, principalId),
    buf.subarray(0, 12),
  );
  decipher.setAuthTag(buf.subarray(12, 28));
  return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString("utf8");
}
