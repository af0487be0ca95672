import type { Kysely, Migration } from "kysely";

/**
 * Budgets shared by every replica through the store (see src/limits/ledger.ts): one row per
 * subject and budget period with what is spent and what requests in flight have reserved, and
 * one row per reservation, with an expiry its holder renews while the request runs, so the
 * holds of a replica that died are released once their lease has passed.
 */
export const budgetLedger: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("budget_ledger")
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("subject_id", "text", (c) => c.notNull())
      /** `<period>:<time zone>:<period start>`: a changed budget period starts a new row. */
      .addColumn("period_key", "text", (c) => c.notNull())
      .addColumn("spent", "bigint", (c) => c.notNull())
      .addColumn("reserved", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("budget_ledger_pk", ["scope", "subject_id", "period_key"])
      .execute();
    await db.schema
      .createTable("budget_holds")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("subject_id", "text", (c) => c.notNull())
      .addColumn("period_key", "text", (c) => c.notNull())
      .addColumn("amount", "bigint", (c) => c.notNull())
      .addColumn("owner", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("budget_holds_expiry").on("budget_holds").column("expires_at").execute();
    await db.schema.createIndex("budget_holds_owner").on("budget_holds").column("owner").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("budget_holds").execute();
    await db.schema.dropTable("budget_ledger").execute();
  },
};
