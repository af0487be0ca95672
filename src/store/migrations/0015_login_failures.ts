import type { Kysely, Migration } from "kysely";

/**
 * Failed sign-ins (see src/people/throttle.ts), in the store so that every replica and worker
 * counts the same failures: throttling per process would let N replicas take N times the
 * guesses. The subject (account or IP) is stored only as a hash: people type passwords into
 * the email field.
 */
export const loginFailures: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("login_failures")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("subject_hash", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("login_failures_subject")
      .on("login_failures")
      .columns(["subject_hash", "at"])
      .execute();
    await db.schema.createIndex("login_failures_at").on("login_failures").column("at").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("login_failures").execute();
  },
};
