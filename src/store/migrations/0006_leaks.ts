import type { Kysely, Migration } from "kysely";

/**
 * Leak defense: canary keys (never valid; any use is a tripwire), each project's policy for
 * reported leaks (`revoke` or `disable`), and the leak reports already processed (by a hash of
 * their raw body, so a replayed report is recognised and changes nothing).
 */
export const leaks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("api_keys")
      .addColumn("canary", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable("projects")
      .addColumn("leak_action", "text", (c) => c.notNull().defaultTo("revoke"))
      .execute();
    await db.schema
      .createTable("leak_reports")
      .addColumn("body_hash", "text", (c) => c.primaryKey())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("tokens", "integer", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
