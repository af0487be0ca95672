import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";
import { GENESIS_HASH } from "../genesis.js";

/** Projects, keys and their secrets, admin keys, the audit chain, idempotent responses. */
export const core: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("projects")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("description", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("api_keys")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("project_id", "text", (c) => c.notNull().references("projects.id"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("environment", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("permissions", "text", (c) => c.notNull())
      .addColumn("allowed_models", "text")
      .addColumn("allowed_ips", "text")
      .addColumn("metadata", "text", (c) => c.notNull())
      .addColumn("hint", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("last_used_at", "bigint")
      .addColumn("expires_at", "bigint")
      .addColumn("revoked_at", "bigint")
      .addColumn("revoked_reason", "text")
      .execute();
    await db.schema
      .createIndex("api_keys_project_idx")
      .on("api_keys")
      .columns(["project_id", "id"])
      .execute();

    await db.schema
      .createTable("key_secrets")
      .addColumn("hash", "text", (c) => c.primaryKey())
      .addColumn("key_id", "text", (c) => c.notNull().references("api_keys.id").onDelete("cascade"))
      .addColumn("hint", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .execute();
    await db.schema.createIndex("key_secrets_key_idx").on("key_secrets").column("key_id").execute();

    await db.schema
      .createTable("admin_keys")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull().unique())
      .addColumn("hint", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("revoked_at", "bigint")
      .addColumn("last_used_at", "bigint")
      .execute();

    await db.schema
      .createTable("audit_log")
      .addColumn("seq", "bigint", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("ts", "bigint", (c) => c.notNull())
      .addColumn("actor_id", "text", (c) => c.notNull())
      .addColumn("actor_role", "text")
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("target_type", "text", (c) => c.notNull())
      .addColumn("target_id", "text", (c) => c.notNull())
      .addColumn("project_id", "text")
      .addColumn("ip", "text")
      .addColumn("user_agent", "text")
      .addColumn("changes", "text", (c) => c.notNull())
      .addColumn("prev_hash", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("audit_log_target_idx")
      .on("audit_log")
      .columns(["target_id", "seq"])
      .execute();
    await db.schema.createIndex("audit_log_ts_idx").on("audit_log").column("ts").execute();

    await db.schema
      .createTable("audit_head")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .execute();
    await sql`insert into audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);

    await db.schema
      .createTable("idempotency")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("principal_id", "text", (c) => c.notNull())
      .addColumn("request_hash", "text", (c) => c.notNull())
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("response_cipher", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("idempotency_created_idx").on("idempotency").column("created_at").execute();
  },
};
