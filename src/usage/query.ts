import { PostgresAdapter, sql, type Kysely, type RawBuilder } from "kysely";
import type { DB } from "../store/schema.js";
import { planUsage, type Segment, type UsageFilter, type UsageGroup } from "./plan.js";
import { csvCell } from "../core/csv.js";
import { DAY_MS, HOUR_MS, ROLLUPS } from "./rollups.js";

export { USAGE_GROUPS, type UsageFilter, type UsageGroup } from "./plan.js";

export interface UsageRow {
  /** Key id, project id, model ("(none)" when the request named none), or the bucket's ISO start. */
  group: string;
  /** The key's or project's name when grouping by key or project (null if it was deleted). */
  name: string | null;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_micros: number;
  cost_usd: number;
}

const BUCKET_MS: Partial<Record<UsageGroup, number>> = { day: DAY_MS, hour: HOUR_MS };

/**
 * Requests, errors (status ≥ 400), tokens and cost, grouped by key, project, model, UTC day or
 * UTC hour, exact for any [since, until). Whole buckets are read from the rollups and only the
 * unaligned edges from the raw events (see `planUsage`); all slices are summed in one statement.
 * `rollups: false` answers from the raw events alone: the reference for tests and benchmarks.
 */
export async function queryUsage(
  db: Kysely<DB>,
  f: UsageFilter,
  options: { rollups?: boolean } = {},
): Promise<UsageRow[]> {
  const bucket = BUCKET_MS[f.groupBy];
  const rows = await runUsage<AggregateRow>(
    db,
    f,
    options,
    () => sql`g.requests as requests, g.errors as errors, g.prompt_tokens as prompt_tokens,
      g.completion_tokens as completion_tokens, g.cached_tokens as cached_tokens,
      g.cost_micros as cost_micros`,
  );
  return rows.map((r) => {
    const cost = Number(r.cost_micros ?? 0);
    return {
      group: groupLabel(r.grp, bucket),
      name: r.name ?? null,
      requests: Number(r.requests),
      errors: Number(r.errors ?? 0),
      prompt_tokens: Number(r.prompt_tokens ?? 0),
      completion_tokens: Number(r.completion_tokens ?? 0),
      cached_tokens: Number(r.cached_tokens ?? 0),
      cost_micros: cost,
      cost_usd: cost / 1_000_000,
    };
  });
}

/**
 * The same rows as `queryUsage`, each as its CSV line (CRLF; columns as `usageCsvHeader`). The
 * store writes the sums into one text column: a full export is 10,000 lines, and carrying nine
 * columns of each to Node, parsing them and printing them again took about a third of its time
 * on PostgreSQL (bench/console-data-bench.ts). Only the group and the name, text that may need
 * quoting, are written here.
 */
export async function queryUsageCsv(db: Kysely<DB>, f: UsageFilter): Promise<string[]> {
  const bucket = BUCKET_MS[f.groupBy];
  const rows = await runUsage<CsvRow>(db, f, {}, (postgres) => {
    // cost_usd from the integer micro-dollars, six decimals: never 1e-7 or 0.30000000000000004.
    const micros = sql`coalesce(g.cost_micros, 0)`;
    const fraction = postgres
      ? sql`right('00000' || (${micros} % 1000000), 6)`
      : sql`substr('00000' || (${micros} % 1000000), -6)`;
    return sql`g.requests || ',' || coalesce(g.errors, 0) || ',' || coalesce(g.prompt_tokens, 0) || ',' ||
      coalesce(g.completion_tokens, 0) || ',' || coalesce(g.cached_tokens, 0) || ',' || ${micros} || ',' ||
      (${micros} / 1000000) || '.' || ${fraction} as sums`;
  });
  return rows.map((r) => `${csvCell(groupLabel(r.grp, bucket))},${csvCell(r.name)},${r.sums}\r\n`);
}

/** A row's group as the API names it: a bucket's ISO start, a model ("(none)" for none), an id. */
function groupLabel(grp: string | number, bucket: number | undefined): string {
  if (bucket !== undefined) return new Date(Number(grp)).toISOString();
  const g = String(grp);
  return g === "" ? "(none)" : g;
}

/**
 * Runs the usage statement of `f`: every slice summed per group, ordered, cut to `limit`, then
 * the names of the rows kept. `columns` projects the sums of `g` (`postgres`: which dialect).
 */
async function runUsage<R>(
  db: Kysely<DB>,
  f: UsageFilter,
  options: { rollups?: boolean },
  columns: (postgres: boolean) => RawBuilder<unknown>,
): Promise<R[]> {
  const segments = planUsage(f, options);
  if (segments.length === 0) return [];
  const bucket = BUCKET_MS[f.groupBy];
  // With several slices the outer query sums per group anyway, so rollup slices hand it their
  // rows as they are: summing each slice first cost an extra sort or hash per slice (PostgreSQL
  // spilled them to disk at 10,000 keys) to save the outer sum little.
  const single = segments.length === 1;
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // PostgreSQL's sum(bigint) is numeric, several times dearer per row than bigint_sum
  // (migration 0018: the same sum in bigint, an error rather than a wrap on overflow).
  const SUM = sql.raw(postgres ? "bigint_sum" : "sum");
  const union = sql.join(
    segments.map((s) => segmentSql(s, f, single, SUM)),
    sql` union all `,
  );
  const names =
    f.groupBy === "key" ? sql.table("api_keys") : f.groupBy === "project" ? sql.table("projects") : null;
  const order = (t: string) =>
    bucket !== undefined
      ? sql`${sql.ref(`${t}.grp`)} asc`
      : sql`${sql.ref(`${t}.cost_micros`)} desc, ${sql.ref(`${t}.grp`)} asc`;
  // One slice (the console's whole-day ranges) is already one row per group: summing it again
  // made PostgreSQL hash 10,000 groups a second time (spilling to disk) for nothing.
  const grouped = single
    ? sql`select * from (${union}) s order by ${order("s")} limit ${f.limit}`
    : sql`select s.grp as grp, ${SUM}(s.requests) as requests, ${SUM}(s.errors) as errors,
          ${SUM}(s.prompt_tokens) as prompt_tokens, ${SUM}(s.completion_tokens) as completion_tokens,
          ${SUM}(s.cached_tokens) as cached_tokens, ${SUM}(s.cost_micros) as cost_micros
        from (${union}) s
        group by s.grp
        order by ${bucket !== undefined ? sql`s.grp asc` : sql`${SUM}(s.cost_micros) desc, s.grp asc`}
        limit ${f.limit}`;
  // Sum, order and cut to `limit` first, then look up names for the rows kept: grouping the
  // joined rows instead (with max(name)) made PostgreSQL hash wide rows for every key, and
  // spill to disk at 10,000 keys, only to throw most of them away.
  const query = sql<R>`
    select g.grp as grp, ${names ? sql`n.name` : sql`null`} as name, ${columns(postgres)}
    from (${grouped}) g
    ${names ? sql`left join ${names} n on n.id = g.grp` : sql``}
    order by ${order("g")}`;
  // Parallel workers made PostgreSQL 3–6× slower on these sums (tens of thousands of rows):
  // starting them and merging their partial sums costs more than the scan, above all on a
  // small machine whose cores already serve requests. Measured with bench/console-data-bench.ts.
  const { rows } = postgres
    ? await db.transaction().execute(async (tx) => {
        await sql`set local max_parallel_workers_per_gather = 0`.execute(tx);
        return query.execute(tx);
      })
    : await query.execute(db);
  return rows;
}

/** A CSV line's parts: the group and the name, and the sums already as text. */
interface CsvRow {
  grp: string | number;
  name: string | null;
  sums: string;
}

/** Sums come back as numbers (SQLite) or numeric strings (PostgreSQL bigint). */
interface AggregateRow {
  grp: string | number;
  name: string | null;
  requests: number | string;
  errors: number | string | null;
  prompt_tokens: number | string | null;
  completion_tokens: number | string | null;
  cached_tokens: number | string | null;
  cost_micros: number | string | null;
}

/**
 * One slice's rows with the same columns whichever table it reads: its sums per group when
 * `grouped` (or when it reads raw events, which must be counted), else a rollup's rows as stored.
 */
function segmentSql(
  s: Segment,
  f: UsageFilter,
  grouped: boolean,
  SUM: RawBuilder<unknown>,
): RawBuilder<unknown> {
  const raw = s.source === "usage_events";
  const time = sql.ref(raw ? "ts" : "bucket_start");
  const bucket = BUCKET_MS[f.groupBy];
  // Buckets are integer arithmetic on epoch ms: the same in SQLite and PostgreSQL (bigint).
  const grain = raw ? undefined : ROLLUPS.find((r) => r.table === s.source)?.grainMs;
  const grp =
    bucket !== undefined
      ? // A rollup of the grouping's own grain is already bucketed: grouping by the bare column
        // lets the store walk its primary key in order instead of sorting computed values.
        grain === bucket
        ? time
        : sql`(${time} / ${sql.lit(bucket)}) * ${sql.lit(bucket)}`
      : f.groupBy === "key"
        ? sql.ref("key_id")
        : f.groupBy === "project"
          ? sql.ref("project_id")
          : // Rollups store a missing model as '' (a primary-key column); raw rows hold NULL.
            raw
            ? sql`coalesce(model, '')`
            : sql.ref("model");
  const where: RawBuilder<unknown>[] = [];
  if (s.from !== undefined) where.push(sql`${time} >= ${s.from}`);
  if (s.to !== undefined) where.push(sql`${time} < ${s.to}`);
  if (f.keyId !== undefined) where.push(sql`key_id = ${f.keyId}`);
  if (f.projectId !== undefined) where.push(sql`project_id = ${f.projectId}`);
  if (f.model !== undefined) where.push(sql`model = ${f.model}`);
  const from = sql`from ${sql.table(s.source)}
    ${where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``}`;
  // Aliased in every slice: a union takes its column names from the first one.
  if (!raw && !grouped)
    return sql`select ${grp} as grp, requests as requests, errors as errors,
      prompt_tokens as prompt_tokens, completion_tokens as completion_tokens,
      cached_tokens as cached_tokens, cost_micros as cost_micros ${from}`;
  const sums = raw
    ? sql`count(*) as requests, ${SUM}(case when status >= 400 then 1 else 0 end) as errors,
        ${SUM}(prompt_tokens) as prompt_tokens, ${SUM}(completion_tokens) as completion_tokens,
        ${SUM}(cached_tokens) as cached_tokens, ${SUM}(cost_micros) as cost_micros`
    : sql`${SUM}(requests) as requests, ${SUM}(errors) as errors, ${SUM}(prompt_tokens) as prompt_tokens,
        ${SUM}(completion_tokens) as completion_tokens, ${SUM}(cached_tokens) as cached_tokens,
        ${SUM}(cost_micros) as cost_micros`;
  return sql`select ${grp} as grp, ${sums} ${from} group by 1`;
}
