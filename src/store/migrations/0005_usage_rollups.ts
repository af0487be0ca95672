import { sql, type CreateTableBuilder, type Kysely, type Migration } from "kysely";

/**
 * Usage rollups: per-bucket sums of usage_events, so a usage query reads thousands of rows
 * instead of millions. Two grains (UTC hour, UTC day) × two widths:
 *
 * - `usage_key_hourly` / `usage_key_daily`: per (bucket, key, project, model) — needed when a
 *   query groups or filters by key;
 * - `usage_project_hourly` / `usage_project_daily`: per (bucket, project, model) — 10× fewer
 *   rows when keys don't matter (group by hour/day/project/model over everything). Measured on
 *   10M dense events, "group by hour" over the key-level table alone took 260–600 ms in SQLite.
 *
 * A request without a model is stored under model '' (primary-key columns cannot be NULL).
 * The recorder keeps these in step with usage_events in the same transaction
 * (`writeUsageBatch` in src/usage/batch-writer.ts); this migration backfills them from the events
 * already recorded.
 */
export const usageRollups: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const run = async (tx: Kysely<unknown>) => {
      for (const grain of ["hourly", "daily"] as const) {
        await createRollupTable(tx, `usage_key_${grain}`, true);
        await createRollupTable(tx, `usage_project_${grain}`, false);
      }
      await backfillUsageRollups(tx);
    };
    // Kysely runs PostgreSQL migrations in a transaction but not SQLite's. The backfill is the
    // one long step here: a crash in the middle must leave no half-built tables behind (the
    // restart would then fail on "table already exists"), so SQLite gets its own transaction.
    if (db.isTransaction) await run(db);
    else await db.transaction().execute(run);
  },
};

async function createRollupTable(db: Kysely<unknown>, table: string, withKey: boolean): Promise<void> {
  // Typed loosely: the columns depend on `withKey`, so the builder cannot track their names.
  let t: CreateTableBuilder<string, string> = db.schema
    .createTable(table)
    .addColumn("bucket_start", "bigint", (c) => c.notNull());
  if (withKey) t = t.addColumn("key_id", "text", (c) => c.notNull());
  t = t.addColumn("project_id", "text", (c) => c.notNull()).addColumn("model", "text", (c) => c.notNull());
  for (const col of ROLLUP_SUMS) t = t.addColumn(col, "bigint", (c) => c.notNull());
  // Bucket first: time ranges are the common restriction, and the upsert's conflict target.
  const pk = withKey
    ? ["bucket_start", "key_id", "project_id", "model"]
    : ["bucket_start", "project_id", "model"];
  await t.addPrimaryKeyConstraint(`${table}_pk`, pk).execute();
  if (withKey)
    await db.schema.createIndex(`${table}_key_idx`).on(table).columns(["key_id", "bucket_start"]).execute();
  await db.schema
    .createIndex(`${table}_project_idx`)
    .on(table)
    .columns(["project_id", "bucket_start"])
    .execute();
}

const ROLLUP_SUMS = [
  "requests",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_micros",
] as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Fills the four rollup tables from usage_events (which they must not already hold: it inserts,
 * it does not merge). Hourly-by-key is aggregated from the raw events once; the three others
 * from it, which is far cheaper than re-reading the events. Exported for the usage benchmark,
 * which builds its 10M-event rollups the same way.
 */
export async function backfillUsageRollups(db: Kysely<unknown>): Promise<void> {
  const sums = sql.raw(ROLLUP_SUMS.join(", "));
  const sumOf = sql.raw(ROLLUP_SUMS.map((c) => `sum(${c})`).join(", "));
  // Integer division on epoch ms, the same bucket arithmetic in SQLite and PostgreSQL (bigint).
  await sql`
    insert into usage_key_hourly (bucket_start, key_id, project_id, model, ${sums})
    select (ts / ${sql.lit(HOUR_MS)}) * ${sql.lit(HOUR_MS)}, key_id, project_id, coalesce(model, ''),
      count(*), sum(case when status >= 400 then 1 else 0 end),
      sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cost_micros)
    from usage_events
    group by 1, 2, 3, 4`.execute(db);
  await sql`
    insert into usage_key_daily (bucket_start, key_id, project_id, model, ${sums})
    select (bucket_start / ${sql.lit(DAY_MS)}) * ${sql.lit(DAY_MS)}, key_id, project_id, model, ${sumOf}
    from usage_key_hourly
    group by 1, 2, 3, 4`.execute(db);
  await sql`
    insert into usage_project_hourly (bucket_start, project_id, model, ${sums})
    select bucket_start, project_id, model, ${sumOf}
    from usage_key_hourly
    group by 1, 2, 3`.execute(db);
  await sql`
    insert into usage_project_daily (bucket_start, project_id, model, ${sums})
    select bucket_start, project_id, model, ${sumOf}
    from usage_key_daily
    group by 1, 2, 3`.execute(db);
}
