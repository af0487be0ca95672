import type { Kysely, Migration } from "kysely";

/**
 * Replica heartbeats (see src/cluster/heartbeat.ts): each serving process announces itself, so a
 * replica can say at start-up that it shares the store with others, and what that means.
 */
export const replicas: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("replicas")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("host", "text", (c) => c.notNull())
      .addColumn("pid", "integer", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("seen_at", "bigint", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("replicas").execute();
  },
};
