import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { SecretBox } from "../crypto/secret-box.js";
import type { Database } from "../store/database.js";
import { openCredentials, openPushSecret, sealCredentials, sealPushSecret } from "./model.js";

/** What a re-encryption pass did. */
export interface DestinationRekey {
  rotated: number;
  /** Destinations or pushes no configured master key opens (their pushes fail until it is set). */
  unreadable: string[];
}

/**
 * Re-seals destination credentials and pending push secrets that are not under the current
 * master key, in one transaction with an audit entry by `system`. Run at start-up, like the
 * webhooks' pass: after one start with both keys the previous one can be retired. Rows no
 * available key opens are left alone and reported. Running it again is a no-op.
 */
export async function reencryptDestinations(
  store: Database,
  box: SecretBox,
  now: number,
): Promise<DestinationRekey> {
  const current = box.currentKeyId;
  const stale = (cipher: string | null) => cipher !== null && SecretBox.keyIdOf(cipher) !== current;
  return store.db.transaction().execute(async (tx) => {
    const lock = store.dialect === "postgres";
    const dq = tx.selectFrom("key_destinations").select(["id", "credentials_cipher"]);
    const pq = tx.selectFrom("secret_pushes").select(["id", "secret_cipher"]).where("status", "=", "pending");
    const destinations = (await (lock ? dq.forUpdate() : dq).execute()).filter((r) =>
      stale(r.credentials_cipher),
    );
    const pushes = (await (lock ? pq.forUpdate() : pq).execute()).filter((r) => stale(r.secret_cipher));
    const unreadable: string[] = [];
    let rotated = 0;
    for (const row of destinations) {
      let credentials;
      try {
        credentials = openCredentials(box, row);
      } catch {
        unreadable.push(row.id);
        continue;
      }
      await tx
        .updateTable("key_destinations")
        .set({ credentials_cipher: sealCredentials(box, row.id, credentials) })
        .where("id", "=", row.id)
        .execute();
      rotated++;
    }
    for (const row of pushes) {
      let secret: string;
      try {
        secret = openPushSecret(box, row.id, row.secret_cipher!);
      } catch {
        unreadable.push(row.id);
        continue;
      }
      await tx
        .updateTable("secret_pushes")
        .set({ secret_cipher: sealPushSecret(box, row.id, secret) })
        .where("id", "=", row.id)
        .execute();
      rotated++;
    }
    if (rotated > 0)
      await appendAudit(
        tx,
        store.dialect,
        SYSTEM_ACTOR,
        {
          action: "destination.master_key_rotated",
          targetType: "master_key",
          targetId: current,
          changes: { after: { key_id: current }, rotated },
        },
        now,
      );
    return { rotated, unreadable };
  });
}
