/**
 * Console data at scale (issue 16, "Done means": with 10,000 keys and a million usage events the
 * keys page and the usage page are usable — the API calls behind them answer p95 < 100 ms on
 * SQLite and on PostgreSQL). For each store, one run:
 *
 *   1. starts the real server in-process (`createContext` + `startServer`, as the e2e tests do)
 *      on a fresh store — SQLite in a temp dir, PostgreSQL in its own schema of the `test`
 *      database, dropped at the end — and bootstraps an owner admin key;
 *   2. creates the projects through the management API, then seeds in bulk (see
 *      `console-data-seed.ts`): 10,000 keys in one project and 100 in each of four others,
 *      1,000,000 usage events over 90 days (8 models, skewed over keys) and their rollups;
 *   3. times over HTTP, with the owner admin key, every call the Keys page
 *      (web/src/pages/Keys.tsx) and the Usage page (web/src/pages/Usage.tsx) make, with the
 *      query strings they send: BENCH_RUNS timed runs each after BENCH_WARMUP warm-ups,
 *      interleaved across calls so they share the machine's noise; every answer is checked
 *      (status 200, and that it is the answer asked for) so no error is timed as a success.
 *
 * Usage: `npm run bench:console`. Environment (all optional):
 *   BENCH_KEYS       keys in the big project (default 10000)
 *   BENCH_EVENTS     usage events (default 1000000; small values make a smoke run)
 *   BENCH_RUNS       timed runs per call (default 60), BENCH_WARMUP warm-ups (default 5)
 *   BENCH_DIALECTS   comma list, default "sqlite,postgres"
 *   BENCH_DATABASE_URL  PostgreSQL server (default KEYWARD_TEST_DATABASE_URL, else
 *                    postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_WRITE      1 = write BENCHMARKS.md, 0 = don't (default: only at the full size)
 *   BENCH_KEEP       1 = keep the SQLite dir and the PostgreSQL schema afterwards (for EXPLAIN)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import { createContext, type AppContext } from "../src/app/context.js";
import { loadConfig } from "../src/config/config.js";
import { createSecretHasher } from "../src/core/hashing.js";
import { createLogger } from "../src/log/logger.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { backfillUsageRollups } from "../src/store/migrations/0005_usage_rollups.js";
import { backfillKeySpans } from "../src/store/migrations/0016_usage_key_spans.js";
import { ROLLUPS } from "../src/usage/rollups.js";
import { keyName, seedKeys, settleKeys, weightedKeys, type SeededKey } from "./console-data-seed.js";
import { consoleCases, type Call, type Fixture } from "./console-data-cases.js";
import {
  reportConsoleBench,
  writeConsoleSection,
  type CallResult,
  type StoreResult,
} from "./console-data-report.js";
import { loadPostgres, loadSqlite, type DataShape } from "./usage-data.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

const FULL_KEYS = 10_000;
const FULL_EVENTS = 1_000_000;
const KEYS = envInt("BENCH_KEYS", FULL_KEYS, 200);
const EVENTS = envInt("BENCH_EVENTS", FULL_EVENTS, 1000);
const RUNS = envInt("BENCH_RUNS", 60, 1);
const WARMUP = envInt("BENCH_WARMUP", 5, 0);
const DIALECTS = (process.env.BENCH_DIALECTS || "sqlite,postgres").split(",").map((s) => s.trim());
const PG_URL =
  process.env.BENCH_DATABASE_URL ||
  process.env.KEYWARD_TEST_DATABASE_URL ||
  "postgres://postgres@127.0.0.1:5432/test";
const FULL = KEYS >= FULL_KEYS && EVENTS >= FULL_EVENTS;
const WRITE = process.env.BENCH_WRITE ? process.env.BENCH_WRITE === "1" : FULL;
const KEEP = process.env.BENCH_KEEP === "1";
const DAYS = 90;
const SMALL_PROJECTS = 4;
const SMALL_KEYS = 100;

const ms = (t0: number) => performance.now() - t0;

interface Running {
  ctx: AppContext;
  server: RunningServer;
  ownerKey: string;
  ownerId: string;
}

async function start(dataDir: string, databaseUrl?: string, pgSchema?: string): Promise<Running> {
  const config = loadConfig(
    {},
    { host: "127.0.0.1", port: 0, dataDir, logLevel: "warn", ...(databaseUrl ? { databaseUrl } : {}) },
  );
  const ctx = await createContext(config, createLogger(config.logLevel), pgSchema ? { pgSchema } : {});
  const server = await startServer(ctx);
  const boot = await ctx.admins.bootstrap();
  if (!boot) throw new Error("fresh store already had admin keys");
  return { ctx, server, ownerKey: boot.key, ownerId: boot.admin.id };
}

async function api<T>(r: Running, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(r.server.url + p, {
    method,
    headers: { authorization: `Bearer ${r.ownerKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Seeded {
  fixture: Fixture;
  keyMs: number;
  eventMs: number;
  rollupMs: number;
  rollupRows: Record<string, number>;
}

/**
 * Projects through the API; keys, events and rollups in bulk; `loadEvents` is the store's bulk
 * loader and `analyze` what a live PostgreSQL's autovacuum would long since have done.
 */
async function seed(
  r: Running,
  loadEvents: (shape: DataShape) => Promise<void>,
  analyze: () => Promise<void>,
): Promise<Seeded> {
  const big = await api<{ id: string }>(r, "POST", "/api/v1/projects", { name: "acme-production" });
  const projects = [{ id: big.id, keys: KEYS }];
  for (let i = 0; i < SMALL_PROJECTS; i++) {
    const p = await api<{ id: string }>(r, "POST", "/api/v1/projects", { name: `side-project-${i}` });
    projects.push({ id: p.id, keys: SMALL_KEYS });
  }
  const end = Date.now();
  const t0 = performance.now();
  const keys: SeededKey[] = await seedKeys(
    r.ctx.store.db,
    createSecretHasher(r.ctx.config.keyPepper),
    projects,
    r.ownerId,
    end,
  );
  const keyMs = ms(t0);
  const t1 = performance.now();
  const shape: DataShape = { events: EVENTS, days: DAYS, end, keys: weightedKeys(keys), seed: 20261207 };
  await loadEvents(shape);
  const eventMs = ms(t1);
  const t2 = performance.now();
  await backfillUsageRollups(r.ctx.store.db as unknown as Kysely<unknown>);
  await backfillKeySpans(r.ctx.store.db as unknown as Kysely<unknown>);
  await settleKeys(r.ctx.store.db, big.id, Date.now());
  await analyze();
  const rollupMs = ms(t2);
  const rollupRows: Record<string, number> = {};
  for (const t of ROLLUPS) {
    const { rows } = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(t.table)}`.execute(r.ctx.store.db);
    rollupRows[t.table] = Number(rows[0]!.n);
  }
  const bigKeys = keys.filter((k) => k.projectId === big.id);
  return {
    fixture: { projectId: big.id, keys: bigKeys, busyKey: bigKeys[0]!, now: Date.now(), keyName },
    keyMs,
    eventMs,
    rollupMs,
    rollupRows,
  };
}

function percentiles(samples: number[]): CallResult["timing"] {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]! };
}

/** One call: request sent to the whole body read, then the answer checked (outside the timing). */
async function timed(r: Running, call: Call): Promise<{ ms: number; bytes: number; rows: number }> {
  const t0 = performance.now();
  const res = await fetch(r.server.url + call.path, { headers: { authorization: `Bearer ${r.ownerKey}` } });
  const text = await res.text();
  const elapsed = ms(t0);
  if (res.status !== 200) throw new Error(`${call.label}: ${res.status} ${text.slice(0, 300)}`);
  return { ms: elapsed, bytes: Buffer.byteLength(text), rows: call.check(text) };
}

async function measure(r: Running, fixture: Fixture): Promise<CallResult[]> {
  const calls = await consoleCases(fixture, (p) => api(r, "GET", p));
  const samples = calls.map(() => [] as number[]);
  const last = calls.map(() => ({ bytes: 0, rows: 0 }));
  for (let run = -WARMUP; run < RUNS; run++)
    for (const [i, c] of calls.entries()) {
      const t = await timed(r, c);
      if (run >= 0) samples[i]!.push(t.ms);
      last[i] = t;
    }
  return calls.map((c, i) => {
    const timing = percentiles(samples[i]!);
    console.log(
      `  ${c.page.padEnd(5)} ${c.label.padEnd(44)} p50 ${timing.p50.toFixed(1).padStart(6)}  p95 ${timing.p95.toFixed(1).padStart(6)}  p99 ${timing.p99.toFixed(1).padStart(6)} ms  (${last[i]!.rows} rows, ${(last[i]!.bytes / 1024).toFixed(1)} KiB)`,
    );
    return { page: c.page, label: c.label, path: c.path, timing, ...last[i]! };
  });
}

async function runSqlite(): Promise<StoreResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "keyward-console-bench-"));
  let r: Running | undefined;
  try {
    console.log(`sqlite: ${dir}`);
    r = await start(dir);
    const file = path.join(dir, "keyward.db");
    const s = await seed(
      r,
      async (shape) => loadSqlite(file, shape, () => {}),
      async () => void (await sql`analyze`.execute(r!.ctx.store.db)),
    );
    console.log(seedLine(s));
    const calls = await measure(r, s.fixture);
    const size = statSync(file).size;
    const { rows } = await sql<{ v: string }>`select sqlite_version() as v`.execute(r.ctx.store.db);
    return {
      store: "SQLite",
      server: `SQLite ${rows[0]!.v} (better-sqlite3), WAL, the server's own connection and settings`,
      storeBytes: size,
      ...seedTimes(s),
      calls,
    };
  } finally {
    await r?.server.close();
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(): Promise<StoreResult> {
  const schema = "kwconsole_" + randomBytes(5).toString("hex");
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const dir = mkdtempSync(path.join(os.tmpdir(), "keyward-console-bench-"));
  let r: Running | undefined;
  try {
    await admin.query(`create schema ${schema}`);
    console.log(`postgres: schema ${schema}`);
    r = await start(dir, PG_URL, schema);
    const s = await seed(
      r,
      (shape) => loadPostgres(PG_URL, schema, shape, () => {}),
      async () => {
        const { rows } = await admin.query<{ t: string }>(
          "select tablename as t from pg_tables where schemaname = $1",
          [schema],
        );
        for (const { t } of rows) await admin.query(`vacuum analyze ${schema}.${t}`);
      },
    );
    console.log(seedLine(s));
    const calls = await measure(r, s.fixture);
    const size = await admin.query<{ b: string }>(
      `select sum(pg_total_relation_size(c.oid))::text as b from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`,
      [schema],
    );
    const version = await admin.query<{ v: string }>("select current_setting('server_version') as v");
    return {
      store: "PostgreSQL",
      server: `PostgreSQL ${version.rows[0]!.v} (default settings), the server's own pool`,
      storeBytes: Number(size.rows[0]!.b),
      ...seedTimes(s),
      calls,
    };
  } finally {
    await r?.server.close();
    if (!KEEP) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function seedTimes(s: Seeded): Pick<StoreResult, "keyMs" | "eventMs" | "rollupMs" | "rollupRows"> {
  return { keyMs: s.keyMs, eventMs: s.eventMs, rollupMs: s.rollupMs, rollupRows: s.rollupRows };
}

function seedLine(s: Seeded): string {
  return `  seeded: keys ${(s.keyMs / 1000).toFixed(1)} s, events ${(s.eventMs / 1000).toFixed(1)} s, rollups + settle + analyze ${(s.rollupMs / 1000).toFixed(1)} s; ${Object.entries(
    s.rollupRows,
  )
    .map(([t, n]) => `${t} ${n}`)
    .join(", ")}`;
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  const results: StoreResult[] = [];
  for (const d of DIALECTS) {
    if (d === "sqlite") results.push(await runSqlite());
    else if (d === "postgres") results.push(await runPostgres());
    else throw new Error(`BENCH_DIALECTS: unknown dialect "${d}"`);
  }
  const { text, markdown } = reportConsoleBench({
    keys: KEYS,
    smallProjects: SMALL_PROJECTS,
    smallKeys: SMALL_KEYS,
    events: EVENTS,
    days: DAYS,
    runs: RUNS,
    warmup: WARMUP,
    full: FULL,
    load: { before: loadBefore, after: os.loadavg()[0]! },
    repoRoot: REPO_ROOT,
    results,
  });
  console.log("\n" + text);
  const resultsDir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const json = path.join(resultsDir, `console-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    json,
    JSON.stringify({ node: process.version, keys: KEYS, events: EVENTS, results }, null, 2),
  );
  console.log(`raw results: ${path.relative(REPO_ROOT, json)}`);
  if (WRITE) console.log(`updated ${path.relative(REPO_ROOT, writeConsoleSection(REPO_ROOT, markdown))}`);
  else console.log("BENCHMARKS.md not updated (smoke run; BENCH_WRITE=1 forces it)");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
