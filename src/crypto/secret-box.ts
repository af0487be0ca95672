import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { MasterKey, MasterKeys } from "./master-key.js";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9+/]+={0,2})$/;

/** Why a ciphertext could not be opened. Messages name no secret and no plaintext. */
export type SecretBoxProblem = "malformed" | "unknown_key" | "auth_failed";

/** A ciphertext that cannot be opened: malformed, under an unknown master key, or tampered with. */
export class SecretBoxError extends Error {
  override name = "SecretBoxError";
  constructor(
    readonly problem: SecretBoxProblem,
    message: string,
    /** The master key id the ciphertext names, when it could be read. */
    readonly keyId: string | null = null,
  ) {
    super(message);
  }
}

/**
 * AES-256-GCM for small secrets (provider API keys) under the master key. Each ciphertext is
 * `v1.<master key id>.<base64(iv | tag | ciphertext)>` with a fresh 96-bit IV, so the key that
 * sealed it is known without trying keys, and the master key can be rotated row by row.
 *
 * `context` is bound as additional authenticated data: a ciphertext opens only with the context
 * it was sealed with (e.g. its row's id), so ciphertexts cannot be swapped between rows.
 */
export class SecretBox {
  private readonly byId: ReadonlyMap<string, MasterKey>;

  constructor(private readonly keys: MasterKeys) {
    const byId = new Map<string, MasterKey>([[keys.current.id, keys.current]]);
    if (keys.previous) byId.set(keys.previous.id, keys.previous);
    this.byId = byId;
  }

  /** The id of the key new ciphertexts are sealed with. */
  get currentKeyId(): string {
    return this.keys.current.id;
  }

  /** Encrypts `plaintext` under the current master key, bound to `context`. */
  seal(plaintext: string, context: string): string {
    const { id, key } = this.keys.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(id, context));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const payload = Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64");
    return `${VERSION}.${id}.${payload}`;
  }

  /** Decrypts a ciphertext sealed with `context` under the current or previous master key. */
  open(sealed: string, context: string): string {
    const m = SEALED.exec(sealed);
    if (!m) throw new SecretBoxError("malformed", "ciphertext is not in the v1.<key id>.<data> format");
    const keyId = m[1]!;
    const data = Buffer.from(m[2]!, "base64");
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new SecretBoxError("malformed", "ciphertext is too short", keyId);
    }
    const master = this.byId.get(keyId);
    if (!master) {
      throw new SecretBoxError(
        "unknown_key",
        `ciphertext was sealed under master key ${keyId}, which this process does not have ` +
          `(current key ${this.keys.current.id}${this.keys.previous ? `, previous ${this.keys.previous.id}` : ""}); ` +
          "set KEYWARD_MASTER_KEY (or KEYWARD_MASTER_KEY_PREVIOUS) to that key",
        keyId,
      );
    }
    const decipher = createDecipheriv("aes-256-gcm", master.key, data.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(keyId, context));
    decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new SecretBoxError(
        "auth_failed",
        `ciphertext failed authentication under master key ${keyId}: it was altered, or belongs to another record`,
        keyId,
      );
    }
  }

  /** The master key id a ciphertext names, or null when it is not a v1 ciphertext. */
  static keyIdOf(sealed: string): string | null {
    return SEALED.exec(sealed)?.[1] ?? null;
  }
}

/** Version and key id are authenticated too, so no part of the envelope can be edited. */
function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${context}`, "utf8");
}
