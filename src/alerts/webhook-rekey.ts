import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { SecretBox } from "../crypto/secret-box.js";
import type { Database } from "../store/database.js";
import { openWebhook, sealWebhookSecret, sealWebhookUrl } from "./webhook-model.js";

/** What a re-encryption pass did. */
export interface WebhookRekey {
  rotated: number;
  /** Webhooks no configured master key opens (their deliveries fail until the key is set). */
  unreadable: string[];
}

/**
 * Re-seals every webhook URL and secret that is not under the current master key, in one
 * transaction with an audit entry by `system`. Run at start-up: during a master key change the
 * previous key (KEYWARD_MASTER_KEY_PREVIOUS) still opens them, so after one start with both
 * keys the old one can be retired. Rows no available key opens are left alone and reported.
 * Running it again is a no-op.
 */
export async function reencryptWebhooks(store: Database, box: SecretBox, now: number): Promise<WebhookRekey> {
  const current = box.currentKeyId;
  return store.db.transaction().execute(async (tx) => {
    const q = tx.selectFrom("webhooks").select(["id", "url_cipher", "secret_cipher"]).orderBy("id");
    // Locked on PostgreSQL so a concurrent update cannot write a ciphertext this pass then overwrites.
    const rows = (await (store.dialect === "postgres" ? q.forUpdate() : q).execute()).filter(
      (r) => SecretBox.keyIdOf(r.url_cipher) !== current || SecretBox.keyIdOf(r.secret_cipher) !== current,
    );
    const unreadable: string[] = [];
    let rotated = 0;
    for (const row of rows) {
      let opened: { url: string; secret: string };
      try {
        opened = openWebhook(box, row);
      } catch {
        unreadable.push(row.id);
        continue;
      }
      await tx
        .updateTable("webhooks")
        .set({
          url_cipher: sealWebhookUrl(box, row.id, opened.url),
          secret_cipher: sealWebhookSecret(box, row.id, opened.secret),
        })
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
          action: "webhook.master_key_rotated",
          targetType: "master_key",
          targetId: current,
          changes: { after: { key_id: current }, rotated },
        },
        now,
      );
    return { rotated, unreadable };
  });
}
