/**
 * Usage query benchmark (issue 4, "Done means": the 10-million-event usage query answers in
 * < 200 ms on SQLite and on PostgreSQL). For each dialect, one run:
 *
 *   1. generates BENCH_EVENTS usage events (seeded: the same data on both dialects) over 30 days,
 *      200 keys in 20 projects, 8 models, and bulk-loads them into usage_events;
 *   2. builds the rollups with the migrations' own backfills (`backfillUsageRollups`, `backfillKeySpans`);
 *   3. times `queryUsage` — the function behind GET /api/v1/usage — for each grouping over the
 *      last 30 days and for one key over 7 days, against the same query answered from the raw
 *      events alone (`{ rollups: false }`, the pre-rollup GROUP BY) in the same run, and checks
 *      that both give identical rows;
 *   4. times a recorder batch of 1,000 new events (raw insert + rollup upserts, one transaction)
 *      against the raw-only insert of the same batch.
 *
 * Usage: `npm run bench:usage`. Environment (all optional):
 *   BENCH_EVENTS     events (default 10000000; small values make a smoke run)
 *   BENCH_RUNS       timed runs per rollup query, after 2 warm-ups (default 30)
 *   BENCH_RAW_RUNS   timed runs per raw-event query (default 3; each takes seconds at 10M)
 *   BENCH_DIALECTS   comma list, default "sqlite,postgres"
 *   BENCH_DATABASE_URL  PostgreSQL server (default KEYWARD_TEST_DATABASE_URL, else
 *                    postgres://postgres@127.0.0.1:5432/test); the bench works in a fresh schema
 *                    and drops it afterwards
 *   BENCH_DIR        parent directory for the SQLite database (default: the OS temp dir; removed
 *                    afterwards unless BENCH_KEEP=1)
 *   BENCH_WRITE      1 = write BENCHMARKS.md, 0 = don't (default: only at 10,000,000 events)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import SQLite from "better-sqlite3";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import { ID_PREFIX, newId } from "../src/core/ids.js";
import { openDatabase, type Database } from "../src/store/database.js";
import { backfillUsageRollups } from "../src/store/migrations/0005_usage_rollups.js";
import { backfillKeySpans } from "../src/store/migrations/0016_usage_key_spans.js";
import type { DB } from "../src/store/schema.js";
import { queryUsage, type UsageFilter, type UsageRow } from "../src/usage/query.js";
import { eventsInsert, toRow, writeUsageBatch } from "../src/usage/batch-writer.js";
import { ROLLUPS } from "../src/usage/rollups.js";
import type { UsageEvent } from "../src/usage/types.js";
import { loadPostgres, loadSqlite, MODELS, type DataShape } from "./usage-data.js";
import { reportUsageBench, writeSection, type DialectResult, type QueryResult } from "./usage-report.js";
import { usageEvent } from "../test/support/usage-event.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FULL_EVENTS = 10_000_000;
const DAY = 86_400_000;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

const EVENTS = envInt("BENCH_EVENTS", FULL_EVENTS, 1);
const RUNS = envInt("BENCH_RUNS", 30, 1);
const RAW_RUNS = envInt("BENCH_RAW_RUNS", 3, 1);
const DIALECTS = (process.env.BENCH_DIALECTS || "sqlite,postgres").split(",").map((s) => s.trim());
const PG_URL =
  process.env.BENCH_DATABASE_URL ||
  process.env.KEYWARD_TEST_DATABASE_URL ||
  "postgres://postgres@127.0.0.1:5432/test";
const WRITE = process.env.BENCH_WRITE ? process.env.BENCH_WRITE === "1" : EVENTS === FULL_EVENTS;
const DAYS = 30;
const PROJECTS = 20;
const KEYS = 200;

/** The data set, fixed for the whole run so both dialects hold the same events. */
function makeShape(): DataShape {
  const end = Date.now();
  const keys = Array.from({ length: KEYS }, (_, i) => ({
    id: newId(ID_PREFIX.key, end - 40 * DAY + i),
    projectId: `proj_bench${String(i % PROJECTS).padStart(2, "0")}`,
  }));
  return { events: EVENTS, days: DAYS, end, keys, seed: 20261122 };
}

/** What a user would ask: the last 30 days (`--since 30d`, so not on a bucket boundary), etc. */
function queryCases(shape: DataShape): Array<{ label: string; filter: UsageFilter }> {
  const since30 = shape.end - 30 * DAY;
  const all = (groupBy: UsageFilter["groupBy"]) => ({ groupBy, since: since30, limit: 1000 });
  return [
    { label: "by key, 30 days", filter: all("key") },
    { label: "by project, 30 days", filter: all("project") },
    { label: "by model, 30 days", filter: all("model") },
    { label: "by day, 30 days", filter: all("day") },
    { label: "by hour, 30 days", filter: all("hour") },
    {
      label: "one key by day, 7 days",
      filter: { groupBy: "day", keyId: shape.keys[7]!.id, since: shape.end - 7 * DAY, limit: 1000 },
    },
  ];
}

/** Projects and keys as rows, so grouping by key joins real names (the columns of migration 0001). */
async function seedKeys(db: Kysely<DB>, shape: DataShape): Promise<void> {
  const t = shape.end - 40 * DAY;
  const projects = [...new Set(shape.keys.map((k) => k.projectId))];
  for (const id of projects)
    await sql`insert into projects (id, name, description, created_at, created_by, updated_at)
      values (${id}, ${id.replace("proj_", "")}, null, ${t}, 'bench', ${t})`.execute(db);
  for (const [i, k] of shape.keys.entries())
    await sql`insert into api_keys (id, project_id, name, environment, status, permissions, metadata, hint,
        created_at, created_by, updated_at)
      values (${k.id}, ${k.projectId}, ${`service-${i}`}, 'live', 'active', '{"mode":"all"}', '{}',
        'kw_live_…0000', ${t}, 'bench', ${t})`.execute(db);
}

const ms = (t0: number) => performance.now() - t0;

function stats(samples: number[]): { median: number; p95: number; min: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { median: at(0.5), p95: at(0.95), min: s[0]!, max: s[s.length - 1]! };
}

const withoutNames = (rows: UsageRow[]) => rows.map(({ name: _n, ...rest }) => rest);

/** Times every case, rollups and raw; rollup runs are interleaved across cases to share the noise. */
async function measureQueries(db: Kysely<DB>, shape: DataShape): Promise<QueryResult[]> {
  const cases = queryCases(shape);
  const samples = cases.map(() => [] as number[]);
  for (let run = -2; run < RUNS; run++)
    for (const [i, c] of cases.entries()) {
      const t0 = performance.now();
      await queryUsage(db, c.filter);
      if (run >= 0) samples[i]!.push(ms(t0));
    }
  const out: QueryResult[] = [];
  for (const [i, c] of cases.entries()) {
    const raw: number[] = [];
    let rawRows: UsageRow[] = [];
    for (let run = 0; run < RAW_RUNS; run++) {
      const t0 = performance.now();
      rawRows = await queryUsage(db, c.filter, { rollups: false });
      raw.push(ms(t0));
    }
    const rollupRows = await queryUsage(db, c.filter);
    const identical = JSON.stringify(withoutNames(rollupRows)) === JSON.stringify(withoutNames(rawRows));
    out.push({
      label: c.label,
      groups: rollupRows.length,
      rollup: stats(samples[i]!),
      raw: stats(raw),
      identical,
    });
    console.log(
      `  ${c.label.padEnd(24)} rollups median ${stats(samples[i]!).median.toFixed(1)} ms, p95 ${stats(samples[i]!).p95.toFixed(1)} ms | raw median ${stats(raw).median.toFixed(0)} ms | ${rollupRows.length} groups, identical: ${identical}`,
    );
  }
  return out;
}

function flushEvents(shape: DataShape, round: number): UsageEvent[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const k = shape.keys[(round * 1000 + i) % shape.keys.length]!;
    return usageEvent({
      requestId: `flush-${round}-${i}-${randomBytes(4).toString("hex")}`,
      ts: Date.now() - i,
      keyId: k.id,
      projectId: k.projectId,
      model: MODELS[i % MODELS.length]!,
      usage: { prompt: 500, completion: 100, cached: 0 },
      costMicros: 150,
      latencyMs: 300,
    });
  });
}

/** The pre-rollup recorder's transaction: raw rows only (500 per INSERT, ON CONFLICT DO NOTHING). */
async function writeRawOnly(db: Kysely<DB>, events: UsageEvent[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < events.length; i += 500)
      await eventsInsert(tx, events.slice(i, i + 500).map(toRow)).execute();
  });
}

/**
 * One recorder batch of 1,000 new events — `writeUsageBatch`, what the recorder's writers run:
 * raw insert + rollup upserts in one transaction — against the raw-only insert the recorder did
 * before rollups, interleaved round by round.
 */
async function measureFlush(db: Kysely<DB>, shape: DataShape): Promise<DialectResult["flush"]> {
  const withRollups: number[] = [];
  const rawOnly: number[] = [];
  for (let round = 0; round < 24; round++) {
    const events = flushEvents(shape, round);
    const t0 = performance.now();
    if (round % 2 === 0) await writeUsageBatch(db, events);
    else await writeRawOnly(db, events);
    if (round >= 4) (round % 2 === 0 ? withRollups : rawOnly).push(ms(t0));
  }
  const a = stats(withRollups);
  const b = stats(rawOnly);
  return { median: a.median, p95: a.p95, rawMedian: b.median, rawP95: b.p95 };
}

async function rollupCounts(db: Kysely<DB>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of ROLLUPS) {
    const { rows } = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(r.table)}`.execute(db);
    out[r.table] = Number(rows[0]!.n);
  }
  return out;
}

const progress = (label: string) => (n: number) =>
  process.stdout.write(
    `\r  ${label}: ${n.toLocaleString("en-US")} / ${EVENTS.toLocaleString("en-US")} events   `,
  );

async function runSqlite(shape: DataShape): Promise<DialectResult> {
  const parent = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : os.tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, "keyward-usage-bench-"));
  let database: Database | undefined;
  try {
    console.log(`sqlite: ${dir}`);
    database = await openDatabase({ dataDir: dir });
    await seedKeys(database.db, shape);
    await database.close();
    const t0 = performance.now();
    loadSqlite(path.join(dir, "keyward.db"), shape, progress("load"));
    const loadMs = ms(t0);
    console.log(`\n  loaded in ${(loadMs / 1000).toFixed(1)} s`);
    // The server's own connection and settings (WAL, synchronous = FULL, default page cache).
    database = await openDatabase({ dataDir: dir });
    const t1 = performance.now();
    await backfillUsageRollups(database.db as unknown as Kysely<unknown>);
    await backfillKeySpans(database.db as unknown as Kysely<unknown>);
    const rollupMs = ms(t1);
    console.log(`  rollups built in ${(rollupMs / 1000).toFixed(1)} s`);
    const queries = await measureQueries(database.db, shape);
    const flush = await measureFlush(database.db, shape);
    const file = path.join(dir, "keyward.db");
    const walSize = (() => {
      try {
        return statSync(file + "-wal").size;
      } catch {
        return 0;
      }
    })();
    const version = new SQLite(":memory:").prepare("select sqlite_version() as v").get() as { v: string };
    return {
      dialect: "sqlite",
      server: `SQLite ${version.v} (better-sqlite3), WAL, synchronous = FULL, default 2 MiB page cache`,
      loadMs,
      rollupMs,
      storeBytes: statSync(file).size + walSize,
      rollupRows: await rollupCounts(database.db),
      queries,
      flush,
    };
  } finally {
    await database?.close();
    if (process.env.BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(shape: DataShape): Promise<DialectResult> {
  const schema = "kwbench_" + randomBytes(5).toString("hex");
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  let database: Database | undefined;
  try {
    await admin.query(`create schema ${schema}`);
    console.log(`postgres: schema ${schema}`);
    database = await openDatabase({ dataDir: os.tmpdir(), databaseUrl: PG_URL, pgSchema: schema });
    await seedKeys(database.db, shape);
    const t0 = performance.now();
    await loadPostgres(PG_URL, schema, shape, progress("load"));
    // A live server's autovacuum would have done this long since: statistics and visibility map.
    await admin.query(`vacuum analyze ${schema}.usage_events`);
    const loadMs = ms(t0);
    console.log(`\n  loaded (and vacuum analyzed) in ${(loadMs / 1000).toFixed(1)} s`);
    const t1 = performance.now();
    await backfillUsageRollups(database.db as unknown as Kysely<unknown>);
    await backfillKeySpans(database.db as unknown as Kysely<unknown>);
    for (const r of ROLLUPS) await admin.query(`vacuum analyze ${schema}.${r.table}`);
    const rollupMs = ms(t1);
    console.log(`  rollups built (and vacuum analyzed) in ${(rollupMs / 1000).toFixed(1)} s`);
    const queries = await measureQueries(database.db, shape);
    const flush = await measureFlush(database.db, shape);
    const setting = async (name: string) =>
      (await admin.query<{ v: string }>(`select current_setting('${name}') as v`)).rows[0]!.v;
    const size = await admin.query<{ b: string }>(
      `select sum(pg_total_relation_size(c.oid))::text as b from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`,
      [schema],
    );
    return {
      dialect: "postgres",
      server: `PostgreSQL ${await setting("server_version")} (defaults: shared_buffers ${await setting("shared_buffers")}, work_mem ${await setting("work_mem")}, max_parallel_workers_per_gather ${await setting("max_parallel_workers_per_gather")}), pool of 10 via pg`,
      loadMs,
      rollupMs,
      storeBytes: Number(size.rows[0]!.b),
      rollupRows: await rollupCounts(database.db),
      queries,
      flush,
    };
  } finally {
    await database?.close();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const shape = makeShape();
  const loadBefore = os.loadavg()[0]!;
  const results: DialectResult[] = [];
  for (const d of DIALECTS) {
    if (d === "sqlite") results.push(await runSqlite(shape));
    else if (d === "postgres") results.push(await runPostgres(shape));
    else throw new Error(`BENCH_DIALECTS: unknown dialect "${d}"`);
  }
  const { text, markdown } = reportUsageBench({
    events: EVENTS,
    days: DAYS,
    keys: KEYS,
    projects: PROJECTS,
    models: MODELS.length,
    runs: RUNS,
    rawRuns: RAW_RUNS,
    load: { before: loadBefore, after: os.loadavg()[0]! },
    results,
  });
  console.log("\n" + text);
  const resultsDir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const json = path.join(resultsDir, `usage-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    json,
    JSON.stringify({ node: process.version, cores: os.cpus().length, events: EVENTS, results }, null, 2),
  );
  console.log(`raw results: ${path.relative(REPO_ROOT, json)}`);
  if (WRITE) console.log(`updated ${path.relative(REPO_ROOT, writeSection(REPO_ROOT, markdown))}`);
  else console.log("BENCHMARKS.md not updated (smoke run; BENCH_WRITE=1 forces it)");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
