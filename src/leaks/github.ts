import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../config/config.js";

/** GitHub's secret-scanning public keys by identifier (`Github-Public-Key-Identifier`). */
export type GithubPublicKeys = ReadonlyMap<string, KeyObject>;

/**
 * Parses the configured keys: a JSON object `{"<identifier>": "<PEM>"}`, or a path to a file
 * holding one. Unset → no keys (every report is refused). A bad value stops the start.
 */
export function loadGithubPublicKeys(value: string | undefined): GithubPublicKeys {
  const keys = new Map<string, KeyObject>();
  if (value === undefined || value.trim() === "") return keys;
  let text = value.trim();
  if (!text.startsWith("{")) {
    try {
      text = readFileSync(text, "utf8");
    } catch (err) {
      throw new ConfigError(
        `KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: cannot read ${text}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: expected JSON {"<key identifier>": "<PEM>"}');
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError('KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: expected JSON {"<key identifier>": "<PEM>"}');
  for (const [id, pem] of Object.entries(parsed)) {
    if (typeof pem !== "string")
      throw new ConfigError(`KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: ${id}: not a PEM string`);
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new ConfigError(`KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: ${id}: not a valid PEM public key`);
    }
    if (key.asymmetricKeyType !== "ec")
      throw new ConfigError(`KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: ${id}: expected an ECDSA (P-256) key`);
    keys.set(id, key);
  }
  return keys;
}

/**
 * Checks GitHub's signature over the raw request body: ECDSA P-256 with SHA-256, the signature
 * base64-encoded DER. Any missing piece, unknown identifier or bad encoding is simply `false`.
 */
export function verifyGithubSignature(
  keys: GithubPublicKeys,
  identifier: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
): boolean {
  if (!identifier || !signature) return false;
  const key = keys.get(identifier);
  if (!key) return false;
  const sig = Buffer.from(signature, "base64");
  if (sig.length === 0) return false;
  try {
    return verify("sha256", rawBody, { key, dsaEncoding: "der" }, sig);
  } catch {
    return false;
  }
}
