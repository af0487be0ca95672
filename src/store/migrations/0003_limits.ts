import type { Kysely, Migration } from "kysely";

/** Rate limits and budgets (JSON, see src/core/limits.ts) on keys and projects. */
export const limits: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("api_keys").addColumn("limits", "text").execute();
    await db.schema.alterTable("projects").addColumn("limits", "text").execute();
  },
};
