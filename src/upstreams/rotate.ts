import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { SecretBox, SecretBoxError } from "../crypto/secret-box.js";
import type { Database } from "../store/database.js";
import { openApiKey, sealApiKey } from "./credential.js";

/** What `upstreams rotate-master` did. */
export interface MasterKeyRotation {
  object: "master_key_rotation";
  /** The master key every credential is now encrypted under. */
  key_id: string;
  /** Upstream credentials in the store. */
  total: number;
  /** How many were re-encrypted by this run (the rest already used the current key). */
  rotated: number;
  /** The master key ids the re-encrypted credentials were under before. */
  from_key_ids: string[];
}

/** A credential that cannot be re-encrypted; the whole rotation is rolled back. */
export class RotationError extends Error {
  override name = "RotationError";
}

/**
 * Re-encrypts every upstream credential that is not under the current master key, in one
 * transaction with its audit entry (actor `system`): either every row moves to the new key or
 * none does, and running it again is a no-op. Needs the old key as the previous key
 * (KEYWARD_MASTER_KEY_PREVIOUS) to decrypt.
 */
export async function reencryptUpstreams(
  store: Database,
  box: SecretBox,
  now: number,
): Promise<MasterKeyRotation> {
  return store.db.transaction().execute(async (tx) => {
    const q = tx.selectFrom("upstreams").select(["id", "project_id", "api_key_cipher"]).orderBy("id");
    // Locked on PostgreSQL so a concurrent update cannot write a ciphertext this run then overwrites.
    const rows = await (store.dialect === "postgres" ? q.forUpdate() : q).execute();
    const from = new Set<string>();
    let rotated = 0;
    for (const row of rows) {
      const keyId = SecretBox.keyIdOf(row.api_key_cipher);
      if (keyId === box.currentKeyId) continue;
      let plaintext: string;
      try {
        plaintext = openApiKey(box, row);
      } catch (err) {
        const why = err instanceof SecretBoxError ? err.message : "unexpected error";
        throw new RotationError(`upstream ${row.id} cannot be decrypted, nothing was re-encrypted: ${why}`);
      }
      await tx
        .updateTable("upstreams")
        .set({ api_key_cipher: sealApiKey(box, row, plaintext) })
        .where("id", "=", row.id)
        .execute();
      if (keyId) from.add(keyId);
      rotated++;
    }
    const result: MasterKeyRotation = {
      object: "master_key_rotation",
      key_id: box.currentKeyId,
      total: rows.length,
      rotated,
      from_key_ids: [...from].sort(),
    };
    if (rotated > 0) {
      await appendAudit(
        tx,
        store.dialect,
        SYSTEM_ACTOR,
        {
          action: "upstream.master_key_rotated",
          targetType: "master_key",
          targetId: box.currentKeyId,
          changes: {
            before: { key_ids: result.from_key_ids },
            after: { key_id: result.key_id },
            rotated,
            total: rows.length,
          },
        },
        now,
      );
    }
    return result;
  });
}
