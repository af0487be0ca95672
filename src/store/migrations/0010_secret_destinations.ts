import type { Kysely, Migration } from "kysely";

/**
 * Rotation push (see src/destinations/): where a key's secret is written when it is created or
 * rotated (AWS Secrets Manager, Vault KV v2, a signed webhook), and the push outbox. A push row
 * holds the new secret sealed under the master key only until it is delivered, superseded by a
 * newer push or given up; then the ciphertext is erased.
 */
export const secretDestinations: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("key_destinations")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("key_id", "text", (c) => c.notNull().references("api_keys.id"))
      .addColumn("project_id", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("config", "text", (c) => c.notNull())
      .addColumn("credentials_cipher", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("key_destinations_key").on("key_destinations").column("key_id").execute();
    await db.schema
      .createTable("secret_pushes")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("destination_id", "text", (c) => c.notNull().references("key_destinations.id"))
      .addColumn("key_id", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("secret_cipher", "text")
      .addColumn("masked_key", "text", (c) => c.notNull())
      .addColumn("old_key_expires_at", "bigint")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint")
      .execute();
    await db.schema
      .createIndex("secret_pushes_due")
      .on("secret_pushes")
      .columns(["status", "next_attempt_at"])
      .execute();
    await db.schema
      .createIndex("secret_pushes_destination")
      .on("secret_pushes")
      .columns(["destination_id", "created_at"])
      .execute();
  },
};
