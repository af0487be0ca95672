import { PostgresAdapter, sql, type Kysely, type Migration } from "kysely";

/**
 * `bigint_sum(bigint)` on PostgreSQL: `sum` over bigint columns, but in bigint. PostgreSQL's own
 * `sum(bigint)` accumulates in numeric to dodge overflow, which made usage by key over 10,000
 * keys ~40% slower (bench/console-data-bench.ts); keyward's sums (requests, tokens, micro-dollars)
 * stay far below 2^63, and `int8pl` raises an error on overflow rather than wrapping. SQLite's
 * `sum` is integer already; nothing to do there.
 */
export const pgBigintSum: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`create aggregate bigint_sum(bigint) (
      sfunc = int8pl, stype = bigint, combinefunc = int8pl, parallel = safe)`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`drop aggregate bigint_sum(bigint)`.execute(db);
  },
};
