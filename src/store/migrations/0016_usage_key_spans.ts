import { sql, type Kysely, type Migration } from "kysely";

const SPAN_DAYS = [1, 5, 15, 45] as const;
const DAY_MS = 86_400_000;
const SUMS = [
  "requests",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_micros",
] as const;

/**
 * Per-key usage over aligned spans of 1, 5, 15 and 45 UTC days, without the model
 * (`usage_key_span_<n>d`, see KEY_SPANS in src/usage/rollups.ts): "usage by key" over 90 days
 * summed ~784,000 per-key daily rows with 10,000 keys and 1M events (p95 156 ms on SQLite,
 * 287 ms on PostgreSQL, bench/console-data-bench.ts); covered by spans it reads a few rows per
 * key. Buckets start at multiples of the span since the epoch, so spans nest. The primary key
 * leads with the bucket: a range over every key is a range of it. The recorder keeps the spans
 * in step with the events like the other rollups; this migration backfills them.
 */
export const usageKeySpans: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const run = async (tx: Kysely<unknown>) => {
      for (const days of SPAN_DAYS) {
        let t = tx.schema
          .createTable(spanTable(days))
          .addColumn("bucket_start", "bigint", (c) => c.notNull())
          .addColumn("key_id", "text", (c) => c.notNull())
          .addColumn("project_id", "text", (c) => c.notNull());
        for (const col of SUMS) t = t.addColumn(col, "bigint", (c) => c.notNull());
        await t
          .addPrimaryKeyConstraint(`${spanTable(days)}_pk`, ["bucket_start", "key_id", "project_id"])
          .execute();
      }
      await backfillKeySpans(tx);
    };
    // As in 0005: SQLite migrations run outside a transaction, and a crash in the backfill must
    // not leave half-built tables behind.
    if (db.isTransaction) await run(db);
    else await db.transaction().execute(run);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const days of SPAN_DAYS) await db.schema.dropTable(spanTable(days)).execute();
  },
};

const spanTable = (days: number) => `usage_key_span_${days}d`;

/**
 * Fills the key spans from `usage_key_daily` (which must already be complete, and the spans
 * empty: it inserts, it does not merge), each width from the one below it, in bucket order as the
 * recorder appends them (a range of buckets is then a run of pages, not a page per row).
 * Exported for the tests and benchmarks that rebuild every rollup after loading events directly.
 */
export async function backfillKeySpans(db: Kysely<unknown>): Promise<void> {
  const sums = sql.raw(SUMS.join(", "));
  const sumOf = sql.raw(SUMS.map((c) => `sum(${c})`).join(", "));
  let from = "usage_key_daily";
  for (const days of SPAN_DAYS) {
    const grain = sql.lit(days * DAY_MS);
    await sql`
      insert into ${sql.table(spanTable(days))} (bucket_start, key_id, project_id, ${sums})
      select (bucket_start / ${grain}) * ${grain}, key_id, project_id, ${sumOf}
      from ${sql.table(from)}
      group by 1, 2, 3
      order by 1, 2`.execute(db);
    from = spanTable(days);
  }
}
