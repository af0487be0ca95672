import type { Kysely, Migration } from "kysely";

/**
 * Ephemeral keys (`keyward run`): each project caps how long one may live. The default, 24 h,
 * is written into existing rows too, so the cap holds from the first run.
 */
export const ephemeralKeys: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("projects")
      .addColumn("ephemeral_max_ttl_seconds", "integer", (c) => c.notNull().defaultTo(86_400))
      .execute();
  },
};
