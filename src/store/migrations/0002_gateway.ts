import type { Kysely, Migration } from "kysely";

/** Upstream provider credentials (encrypted) and metered usage events. */
export const gateway: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("upstreams")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("project_id", "text", (c) => c.notNull().references("projects.id"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("base_url", "text", (c) => c.notNull())
      // AES-256-GCM ciphertext of the provider API key: "v1.<master key id>.<base64 iv|tag|ct>".
      .addColumn("api_key_cipher", "text", (c) => c.notNull())
      .addColumn("key_hint", "text", (c) => c.notNull())
      .addColumn("organization", "text")
      .addColumn("openai_project", "text")
      .addColumn("priority", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("upstreams_project_idx")
      .on("upstreams")
      .columns(["project_id", "priority"])
      .execute();

    await db.schema
      .createTable("usage_events")
      .addColumn("request_id", "text", (c) => c.primaryKey())
      .addColumn("ts", "bigint", (c) => c.notNull())
      .addColumn("key_id", "text", (c) => c.notNull())
      .addColumn("project_id", "text", (c) => c.notNull())
      .addColumn("method", "text", (c) => c.notNull())
      .addColumn("endpoint", "text", (c) => c.notNull())
      .addColumn("model", "text")
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("streamed", "integer", (c) => c.notNull())
      .addColumn("prompt_tokens", "bigint", (c) => c.notNull())
      .addColumn("completion_tokens", "bigint", (c) => c.notNull())
      .addColumn("cached_tokens", "bigint", (c) => c.notNull())
      .addColumn("cost_micros", "bigint", (c) => c.notNull())
      .addColumn("latency_ms", "integer", (c) => c.notNull())
      .addColumn("client_ip", "text")
      .addColumn("upstream_id", "text")
      .execute();
    await db.schema
      .createIndex("usage_events_key_ts_idx")
      .on("usage_events")
      .columns(["key_id", "ts"])
      .execute();
    await db.schema
      .createIndex("usage_events_project_ts_idx")
      .on("usage_events")
      .columns(["project_id", "ts"])
      .execute();
    await db.schema.createIndex("usage_events_ts_idx").on("usage_events").column("ts").execute();
  },
};
