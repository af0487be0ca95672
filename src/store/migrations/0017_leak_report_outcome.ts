import type { Kysely, Migration } from "kysely";

/**
 * What each processed leak report did: how many keys it contained, so that the console's Leaks
 * page can list the reports themselves, not only the containments in the audit log. Reports
 * processed before this migration keep `contained` null (not recorded then).
 */
export const leakReportOutcome: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("leak_reports").addColumn("contained", "integer").execute();
    await db.schema
      .createIndex("leak_reports_received_idx")
      .on("leak_reports")
      .columns(["received_at", "body_hash"])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("leak_reports_received_idx").execute();
    await db.schema.alterTable("leak_reports").dropColumn("contained").execute();
  },
};
