import { createHmac, hash } from "node:crypto";

/**
 * Hashes a whole secret for storage and lookup. Keys carry ≥160 bits of entropy, so a fast
 * hash is safe (no password stretching needed); an optional server pepper (HMAC) means a
 * stolen database alone cannot even confirm a guessed key.
 */
export interface SecretHasher {
  hash(secret: string): string;
}

/** Builds the hasher once at start-up: HMAC-SHA-256 when a pepper is configured, else SHA-256. */
export function createSecretHasher(pepper: string | undefined): SecretHasher {
  if (pepper) {
    return { hash: (secret) => createHmac("sha256", pepper).update(secret).digest("hex") };
  }
  // One-shot hash(): no Hash object per call (a third of createHash's cost on a key).
  return { hash: (secret) => hash("sha256", secret, "hex") };
}

/** SHA-256 hex of a string; for fingerprints and request hashes, never for secrets at rest. */
export function sha256Hex(data: string): string {
  return hash("sha256", data, "hex");
}
