import type { Kysely, Migration } from "kysely";

/**
 * Trusted CI identities (OIDC): a project's trust policies (issuer, audience, claim conditions,
 * and what a matching run may mint), and the token ids already exchanged (replays refused; rows
 * are kept until the token would have expired anyway).
 */
export const trustPolicies: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("trust_policies")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("project_id", "text", (c) => c.notNull().references("projects.id"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("issuer", "text", (c) => c.notNull())
      .addColumn("audience", "text", (c) => c.notNull())
      .addColumn("conditions", "text", (c) => c.notNull())
      .addColumn("grant", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("trust_policies_issuer").on("trust_policies").column("issuer").execute();
    await db.schema
      .createTable("oidc_token_uses")
      .addColumn("issuer", "text", (c) => c.notNull())
      .addColumn("jti", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("oidc_token_uses_pk", ["issuer", "jti"])
      .execute();
  },
};
