import type { Kysely, Migration } from "kysely";
import { sql } from "kysely";

/**
 * Rotation policy (per project) and alerts: alert events (deduplicated), webhooks, their
 * durable outbox and delivery log, worker cursors, and the IPs each key has been used from.
 */
export const alerts: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Rotation policy. NULL max age / stale days = that rule is off for the project.
    await db.schema
      .alterTable("projects")
      .addColumn("rotation_max_age_days", "integer", (c) => c.defaultTo(90))
      .execute();
    await db.schema
      .alterTable("projects")
      .addColumn("rotation_enforce", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable("projects")
      .addColumn("stale_after_days", "integer", (c) => c.defaultTo(30))
      .execute();
    // When the key's secret was last rotated; rotate_by counts from here (or created_at).
    await db.schema.alterTable("api_keys").addColumn("rotated_at", "bigint").execute();

    await db.schema
      .createTable("alert_events")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("project_id", "text")
      .addColumn("data", "text", (c) => c.notNull())
      // "At most one alert per value, ever": the constraint, not a read-then-write, holds it
      // across restarts and replicas. NULL (events that always fire) never conflicts.
      .addColumn("dedupe_key", "text", (c) => c.unique())
      .addColumn("occurred_at", "bigint", (c) => c.notNull())
      .addColumn("recorded_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("webhooks")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("project_id", "text", (c) => c.references("projects.id"))
      .addColumn("description", "text")
      // The URL may itself be a credential (Slack/Teams incoming webhooks): sealed like a secret.
      .addColumn("url_cipher", "text", (c) => c.notNull())
      .addColumn("url_hint", "text", (c) => c.notNull())
      .addColumn("secret_cipher", "text", (c) => c.notNull())
      .addColumn("secret_hint", "text", (c) => c.notNull())
      .addColumn("event_types", "text", (c) => c.notNull())
      .addColumn("enabled", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("webhook_outbox")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
      .addColumn("event_id", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("delivered_at", "bigint")
      // One message per event per webhook: re-recording an event never enqueues it twice.
      .addUniqueConstraint("webhook_outbox_event_uq", ["webhook_id", "event_id"])
      .execute();
    await db.schema
      .createIndex("webhook_outbox_due_idx")
      .on("webhook_outbox")
      .columns(["status", "next_attempt_at"])
      .execute();

    await db.schema
      .createTable("webhook_deliveries")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
      .addColumn("outbox_id", "text", (c) => c.notNull())
      .addColumn("event_id", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("status_code", "integer")
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("next_retry_at", "bigint")
      .addColumn("attempted_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("webhook_deliveries_webhook_idx")
      .on("webhook_deliveries")
      .columns(["webhook_id", "id"])
      .execute();

    // Worker cursors (audit tailer, IP ingestion), one row each.
    await db.schema
      .createTable("alert_state")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "bigint", (c) => c.notNull())
      .execute();
    // The tailer starts at the current head: history before the upgrade is not re-announced.
    await sql`insert into alert_state (name, value) select 'audit_seq', seq from audit_head where id = 1`.execute(
      db,
    );
    await sql`insert into alert_state (name, value) values ('usage_ip_ts', 0)`.execute(db);

    // Every IP a key was used from, with the first time: "an IP never seen for this key".
    await db.schema
      .createTable("key_ips")
      .addColumn("key_id", "text", (c) => c.notNull())
      .addColumn("ip", "text", (c) => c.notNull())
      .addColumn("first_seen_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("key_ips_pk", ["key_id", "ip"])
      .execute();
    await db.schema.createIndex("key_ips_first_seen_idx").on("key_ips").column("first_seen_at").execute();
  },
};
