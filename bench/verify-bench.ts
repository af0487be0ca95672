/**
 * Key verify micro-benchmark (issue 2, "Done means": cached verify ≥ 200k/s in-process; a cache
 * miss ≤ 0.2 ms p99 on SQLite with 1,000,000 keys). One run measures, each beside its floor:
 *
 *   a) cached verify throughput (a VALID key already in the cache)  vs  b) SHA-256 + Map lookup;
 *   c) cache-miss verify latency, existing keys (VALID) and unknown well-formed keys (NOT_FOUND)
 *      vs  d) SHA-256 + a raw better-sqlite3 prepared select of the same columns;
 *   e) MALFORMED (bad checksum) rejection throughput.
 *
 * Usage: `npm run bench:verify`. Environment (all optional):
 *   BENCH_KEYS      keys in the store (default 1000000; small values make a smoke run)
 *   BENCH_LOOKUPS   cache-miss lookups per kind (default 20000)
 *   BENCH_ROUNDS    throughput rounds, median reported (default 5)
 *   BENCH_ROUND_MS  target length of one throughput round in ms (default 1000)
 *   BENCH_WRITE     1 = write BENCHMARKS.md, 0 = don't (default: only when BENCH_KEYS is 1000000)
 *   BENCH_DIR       parent directory for the seeded database (default: the OS temp dir); the
 *                   bench makes a fresh directory inside it and removes it afterwards
 *   BENCH_KEEP      1 = keep that directory (for profiling against the seeded store)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PerformanceObserver } from "node:perf_hooks";
import SQLite from "better-sqlite3";
import { createContext, type AppContext } from "../src/app/context.js";
import { canonicalJson } from "../src/audit/canonical.js";
import { loadConfig } from "../src/config/config.js";
import { createSecretHasher } from "../src/core/hashing.js";
import { ID_PREFIX, newId } from "../src/core/ids.js";
import { generateKey, maskKey } from "../src/core/key-format.js";
import { DEFAULT_PERMISSIONS } from "../src/core/permissions.js";
import type { VerifyCode, VerifyRequest } from "../src/keys/verify.js";
import { createLogger } from "../src/log/logger.js";
import { openDatabase } from "../src/store/database.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BRAND = "kw";
const TARGET_CACHED_OPS = 200_000;
const TARGET_MISS_P99_US = 200;
const FULL_KEYS = 1_000_000;
const SEED_BATCH = 50_000;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

const KEYS = envInt("BENCH_KEYS", FULL_KEYS, 1);
const LOOKUPS = Math.min(envInt("BENCH_LOOKUPS", 20_000, 1), KEYS);
const ROUNDS = envInt("BENCH_ROUNDS", 5, 1);
const ROUND_MS = envInt("BENCH_ROUND_MS", 1000, 10);
const WRITE =
  process.env.BENCH_WRITE === undefined || process.env.BENCH_WRITE === ""
    ? KEYS === FULL_KEYS
    : process.env.BENCH_WRITE === "1";

// ---------------------------------------------------------------------------------------------
// Measurement helpers

const nowNs = (): bigint => process.hrtime.bigint();
const sinceUs = (t0: bigint): number => Number(nowNs() - t0) / 1000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Latency {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of latencies in µs. */
function summarise(samples: Float64Array): Latency {
  const s = Float64Array.from(samples).sort();
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: s[s.length - 1]!,
    mean: sum / s.length,
  };
}

/** A throughput workload: runs `n` operations, returns nothing (checks its own results). */
type Work = (n: number) => Promise<void> | void;

interface Throughput {
  /** Median ops/s over the rounds. */
  median: number;
  rounds: number[];
}

/**
 * Runs several workloads in interleaved rounds (so machine noise hits all of them alike):
 * a warm-up and calibration per workload, then ROUNDS rounds of ~ROUND_MS each. Median ops/s.
 */
async function throughput(works: Record<string, Work>): Promise<Record<string, Throughput>> {
  const sizes: Record<string, number> = {};
  for (const [name, work] of Object.entries(works)) {
    let n = 1000;
    for (;;) {
      const t0 = nowNs();
      await work(n);
      const us = sinceUs(t0);
      if (us >= 200_000) {
        sizes[name] = Math.max(1000, Math.round((n * ROUND_MS * 1000) / us));
        break;
      }
      n *= 4;
    }
  }
  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(works).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, work] of Object.entries(works)) {
      const n = sizes[name]!;
      const t0 = nowNs();
      await work(n);
      rounds[name]!.push(n / (sinceUs(t0) / 1e6));
    }
  }
  return Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, { median: median(v), rounds: v }]));
}

function expectCode(got: VerifyCode, want: VerifyCode, what: string): void {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

// ---------------------------------------------------------------------------------------------
// Seeding: bulk rows straight into api_keys + key_secrets (KeyService.create is per-key
// transactional with an audit entry: right for users, far too slow for a million keys).

interface Seeded {
  /** A random sample of existing secrets (LOOKUPS + 1 of them, shuffled). */
  sample: string[];
  seconds: number;
  dbBytes: number;
}

async function seed(dataDir: string): Promise<Seeded> {
  // Create the schema the way the app does (migrations), then bulk-load with a raw handle.
  const store = await openDatabase({ dataDir });
  const file = store.location;
  await store.close();

  const raw = new SQLite(file);
  raw.pragma("synchronous = OFF"); // seeding only: this connection, not the one measured
  raw.pragma("cache_size = -262144");
  const hasher = createSecretHasher(undefined);
  const t0 = nowNs();
  const base = Date.now() - KEYS; // one key per millisecond up to now: ids sort like real ones
  const adminId = newId(ID_PREFIX.admin, base);
  const projectId = newId(ID_PREFIX.project, base);
  raw
    .prepare(
      "insert into projects (id, name, description, created_at, created_by, updated_at) values (?, ?, null, ?, ?, ?)",
    )
    .run(projectId, "bench", base, adminId, base);
  const insertKey = raw.prepare(
    `insert into api_keys (id, project_id, name, environment, status, permissions, allowed_models,
       allowed_ips, metadata, hint, created_at, created_by, updated_at)
     values (?, ?, ?, 'live', 'active', ?, null, null, '{}', ?, ?, ?, ?)`,
  );
  const insertSecret = raw.prepare(
    "insert into key_secrets (hash, key_id, hint, created_at, expires_at) values (?, ?, ?, ?, null)",
  );
  const permissions = canonicalJson(DEFAULT_PERMISSIONS);

  // Which key indexes to remember for the lookups: a uniform random sample.
  const want = new Set<number>();
  const sampleSize = Math.min(KEYS, LOOKUPS + 1);
  while (want.size < sampleSize) want.add(Math.floor(Math.random() * KEYS));
  const sample: string[] = [];

  const insertBatch = raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const at = base + i;
      const secret = generateKey(BRAND, "live");
      const id = newId(ID_PREFIX.key, at);
      const hint = maskKey(secret);
      insertKey.run(id, projectId, `bench-${i}`, permissions, hint, at, adminId, at);
      insertSecret.run(hasher.hash(secret), id, hint, at);
      if (want.has(i)) sample.push(secret);
    }
  });
  for (let from = 0; from < KEYS; from += SEED_BATCH) {
    insertBatch(from, Math.min(KEYS, from + SEED_BATCH));
    if (KEYS >= 200_000 && (from / SEED_BATCH) % 4 === 3)
      process.stdout.write(`  seeded ${Math.min(KEYS, from + SEED_BATCH).toLocaleString("en-US")} keys\r`);
  }
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.exec("analyze");
  raw.close();
  const seconds = sinceUs(t0) / 1e6;
  const dbBytes = statSync(file).size;
  return { sample: shuffle(sample), seconds, dbBytes };
}

// ---------------------------------------------------------------------------------------------
// The benchmark

// The same columns and joins as the verifier's lookup (compileLookup in src/keys/verify.ts):
// keep the two in step, or (d) stops being the floor of (c).
const LOOKUP_SQL = `select k.id, k.project_id, k.name, k.environment, k.status, k.expires_at, k.permissions,
  k.allowed_models, k.allowed_ips, s.expires_at as secret_expires_at, k.limits, p.limits as project_limits
  from key_secrets s join api_keys k on k.id = s.key_id join projects p on p.id = k.project_id
  where s.hash = ?`;

interface Results {
  keys: number;
  seedSeconds: number;
  dbBytes: number;
  cached: Throughput;
  cachedScoped: Throughput;
  baselineCached: Throughput;
  baselineCachedAsync: Throughput;
  malformed: Throughput;
  negativeCached: Throughput;
  missValid: Latency;
  missNotFound: Latency;
  rawValid: Latency;
  rawNotFound: Latency;
  cacheMissesCounted: number;
  /** V8 garbage collections during the cache-miss phase (they land in the tail latencies). */
  missGc: { count: number; totalMs: number; maxMs: number };
  /** 1-minute load average before and after the run: other processes on this machine. */
  load: { before: number; after: number };
}

async function run(
  ctx: AppContext,
  file: string,
  sample: string[],
): Promise<Omit<Results, "seedSeconds" | "dbBytes" | "load">> {
  const { verifier, keyCache } = ctx;
  const sha = (k: string): string => createHash("sha256").update(k).digest("hex");

  // The one cached key, and the lookup keys (never verified before: guaranteed misses).
  const hot = sample[0]!;
  const missKeys = sample.slice(1);
  const unknownKeys = Array.from({ length: missKeys.length }, () => generateKey(BRAND, "live"));

  // --- c/d) cache misses first, on a cold key cache; a third of the keys warm the JIT. -------
  console.log(`cache-miss lookups: ${missKeys.length.toLocaleString("en-US")} existing + unknown keys…`);
  const raw = new SQLite(file, { readonly: true });
  const stmt = raw.prepare(LOOKUP_SQL);
  const warm = Math.min(2000, Math.floor(missKeys.length / 3));
  for (let i = 0; i < warm; i++) {
    // Warm-up on other keys than the measured ones (throwaway unknown keys: no row touched).
    expectCode((await verifier.verify({ key: generateKey(BRAND, "live") })).code, "NOT_FOUND", "warm-up");
    stmt.get(sha(generateKey(BRAND, "live")));
  }
  keyCache.clear();
  const missesBefore = keyCache.misses;
  const missGc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      missGc.count++;
      missGc.totalMs += e.duration;
      missGc.maxMs = Math.max(missGc.maxMs, e.duration);
    }
  });
  gcObserver.observe({ entryTypes: ["gc"] });
  const missValid = new Float64Array(missKeys.length);
  const missNotFound = new Float64Array(missKeys.length);
  const rawValid = new Float64Array(missKeys.length);
  const rawNotFound = new Float64Array(missKeys.length);
  // Interleave in blocks, alternating which side goes first, so noise and OS page-cache state
  // fall on verify and on the raw floor alike.
  const BLOCK = 500;
  for (let b = 0, block = 0; b < missKeys.length; b += BLOCK, block++) {
    const end = Math.min(missKeys.length, b + BLOCK);
    const viaVerify = async (): Promise<void> => {
      for (let i = b; i < end; i++) {
        let t0 = nowNs();
        const v = await verifier.verify({ key: missKeys[i]! });
        missValid[i] = sinceUs(t0);
        expectCode(v.code, "VALID", "miss on an existing key");
        t0 = nowNs();
        const u = await verifier.verify({ key: unknownKeys[i]! });
        missNotFound[i] = sinceUs(t0);
        expectCode(u.code, "NOT_FOUND", "miss on an unknown key");
      }
    };
    const viaRaw = (): void => {
      for (let i = b; i < end; i++) {
        let t0 = nowNs();
        const row = stmt.get(sha(missKeys[i]!));
        rawValid[i] = sinceUs(t0);
        if (row === undefined) throw new Error("raw lookup missed an existing key");
        t0 = nowNs();
        const none = stmt.get(sha(unknownKeys[i]!));
        rawNotFound[i] = sinceUs(t0);
        if (none !== undefined) throw new Error("raw lookup found an unknown key");
      }
    };
    if (block % 2 === 0) {
      await viaVerify();
      viaRaw();
    } else {
      viaRaw();
      await viaVerify();
    }
  }
  // GC entries are delivered asynchronously: let them arrive before disconnecting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  gcObserver.disconnect();
  const cacheMissesCounted = keyCache.misses - missesBefore;
  if (cacheMissesCounted !== missKeys.length * 2)
    throw new Error(`expected ${missKeys.length * 2} cache misses, the cache counted ${cacheMissesCounted}`);
  raw.close();

  // --- a/b/e) throughput ------------------------------------------------------------------
  console.log(`throughput: ${ROUNDS} interleaved rounds of ~${ROUND_MS} ms per workload…`);
  const hotReq: VerifyRequest = { key: hot };
  const scopedReq: VerifyRequest = {
    key: hot,
    resource: "chat_completions",
    models: ["gpt-4o-mini"],
    ip: "10.0.0.7",
  };
  expectCode((await verifier.verify(hotReq)).code, "VALID", "hot key");
  const unknown = generateKey(BRAND, "live");
  expectCode((await verifier.verify({ key: unknown })).code, "NOT_FOUND", "negative-cached key");
  // Bad checksum: the last character changed (still base62, right length).
  const malformedKey = hot.slice(0, -1) + (hot.endsWith("A") ? "B" : "A");
  expectCode((await verifier.verify({ key: malformedKey })).code, "MALFORMED", "bad checksum");
  // The floor: what any verify must do for a cached key — hash it and look the hash up.
  const floorMap = new Map<string, { keyId: string }>([[sha(hot), { keyId: "k" }]]);
  let sink = 0;

  const hitsBefore = keyCache.hits;
  const tp = await throughput({
    cached: async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await verifier.verify(hotReq);
        if (r.code !== "VALID") throw new Error(`cached verify returned ${r.code}`);
      }
    },
    cachedScoped: async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await verifier.verify(scopedReq);
        if (r.code !== "VALID") throw new Error(`scoped cached verify returned ${r.code}`);
      }
    },
    baselineCached: (n) => {
      for (let i = 0; i < n; i++) {
        const hit = floorMap.get(sha(hot));
        if (hit === undefined) throw new Error("floor lookup missed");
        sink += hit.keyId.length;
      }
    },
    baselineCachedAsync: async (n) => {
      const lookup = async (k: string): Promise<{ keyId: string } | undefined> => floorMap.get(sha(k));
      for (let i = 0; i < n; i++) {
        const hit = await lookup(hot);
        if (hit === undefined) throw new Error("floor lookup missed");
        sink += hit.keyId.length;
      }
    },
    negativeCached: async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await verifier.verify({ key: unknown });
        if (r.code !== "NOT_FOUND") throw new Error(`negative-cached verify returned ${r.code}`);
      }
    },
    malformed: async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await verifier.verify({ key: malformedKey });
        if (r.code !== "MALFORMED") throw new Error(`malformed verify returned ${r.code}`);
      }
    },
  });
  if (sink === 0) throw new Error("unreachable");
  if (keyCache.hits === hitsBefore) throw new Error("the cached workloads never hit the cache");

  return {
    keys: KEYS,
    cached: tp.cached!,
    cachedScoped: tp.cachedScoped!,
    baselineCached: tp.baselineCached!,
    baselineCachedAsync: tp.baselineCachedAsync!,
    malformed: tp.malformed!,
    negativeCached: tp.negativeCached!,
    missValid: summarise(missValid),
    missNotFound: summarise(missNotFound),
    rawValid: summarise(rawValid),
    rawNotFound: summarise(rawNotFound),
    cacheMissesCounted,
    missGc,
  };
}

// ---------------------------------------------------------------------------------------------
// Reporting

const ops = (x: number): string => `${Math.round(x).toLocaleString("en-US")}/s`;
const us = (x: number): string => `${x.toFixed(1)} µs`;
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const mark = (ok: boolean): string => (ok ? "PASS" : "FAIL");

function report(r: Results): { text: string; markdown: string } {
  const full = r.keys >= FULL_KEYS;
  const cachedOk = r.cached.median >= TARGET_CACHED_OPS;
  const missOk = r.missValid.p99 <= TARGET_MISS_P99_US && r.missNotFound.p99 <= TARGET_MISS_P99_US;
  const missVerdict = full
    ? mark(missOk)
    : `${mark(missOk)} (store < 1,000,000 keys: not the target's setup)`;
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const machine = `${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.release()}`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const load = `1-min load average ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after the run`;
  const gc = `${r.missGc.count} GCs during the miss phase, ${r.missGc.totalMs.toFixed(0)} ms in total, longest ${r.missGc.maxMs.toFixed(1)} ms`;
  const roundsOf = (t: Throughput): string => t.rounds.map((x) => Math.round(x / 1000) + "k").join(", ");

  const tpRows: [string, Throughput, string][] = [
    [
      "(a) verify, cached VALID key",
      r.cached,
      `${ratio(r.cached.median / r.baselineCached.median)} of floor (b)`,
    ],
    [
      "    same + resource, model, IP checks",
      r.cachedScoped,
      `${ratio(r.cachedScoped.median / r.baselineCached.median)} of floor (b)`,
    ],
    ["(b) floor: SHA-256 + Map.get (sync)", r.baselineCached, ""],
    [
      "    floor, awaited like verify",
      r.baselineCachedAsync,
      `${ratio(r.baselineCachedAsync.median / r.baselineCached.median)} of floor (b)`,
    ],
    [
      "    verify, negative-cached NOT_FOUND",
      r.negativeCached,
      `${ratio(r.negativeCached.median / r.baselineCached.median)} of floor (b)`,
    ],
    [
      "(e) verify, MALFORMED (bad checksum)",
      r.malformed,
      `${ratio(r.malformed.median / r.baselineCached.median)} of floor (b)`,
    ],
  ];
  const latRows: [string, Latency, string][] = [
    [
      "(c) verify miss, existing key → VALID",
      r.missValid,
      `p50 ${ratio(r.missValid.p50 / r.rawValid.p50)}, p99 ${ratio(r.missValid.p99 / r.rawValid.p99)} of (d)`,
    ],
    ["(d) floor: SHA-256 + raw prepared select", r.rawValid, ""],
    [
      "(c) verify miss, unknown key → NOT_FOUND",
      r.missNotFound,
      `p50 ${ratio(r.missNotFound.p50 / r.rawNotFound.p50)}, p99 ${ratio(r.missNotFound.p99 / r.rawNotFound.p99)} of (d)`,
    ],
    ["(d) floor: same, unknown hash", r.rawNotFound, ""],
  ];

  const pad = (s: string, n: number): string => s.padEnd(n);
  const lpad = (s: string, n: number): string => s.padStart(n);
  const text = [
    "",
    `verify benchmark — ${r.keys.toLocaleString("en-US")} keys on SQLite (WAL), node ${process.version}, ${machine}`,
    `seed: ${r.seedSeconds.toFixed(1)} s (${ops(r.keys / r.seedSeconds)} keys), database ${(r.dbBytes / 2 ** 20).toFixed(0)} MiB`,
    `noise: ${load}; ${gc}`,
    "",
    `${pad("throughput (median of " + ROUNDS + " rounds)", 44)}${lpad("ops/s", 14)}   vs floor`,
    ...tpRows.map(([n, t, c]) => `${pad(n, 44)}${lpad(ops(t.median), 14)}   ${c}`),
    "",
    `${pad("latency per lookup (" + r.missValid.n.toLocaleString("en-US") + " each)", 44)}${["p50", "p90", "p99", "p99.9", "max"].map((h) => lpad(h, 11)).join("")}   vs floor`,
    ...latRows.map(
      ([n, l, c]) =>
        `${pad(n, 44)}${[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => lpad(us(v), 11)).join("")}   ${c}`,
    ),
    "",
    `target cached verify ≥ ${ops(TARGET_CACHED_OPS)}: ${mark(cachedOk)} (${ops(r.cached.median)})`,
    `target cache-miss p99 ≤ ${TARGET_MISS_P99_US / 1000} ms: ${missVerdict} (VALID ${us(r.missValid.p99)}, NOT_FOUND ${us(r.missNotFound.p99)})`,
    "",
  ].join("\n");

  const md = [
    "<!-- verify-bench:start -->",
    "## Key verify (`bench/verify-bench.ts`)",
    "",
    "Generated by the benchmark; re-running it replaces this section.",
    "",
    `- **Date:** ${date}`,
    `- **Node:** ${process.version}`,
    `- **Machine:** ${machine} (shared, noisy: medians and percentiles, not best runs); ${load}`,
    `- **Store:** SQLite (WAL, \`synchronous = FULL\`) with ${r.keys.toLocaleString("en-US")} keys, ${(r.dbBytes / 2 ** 20).toFixed(0)} MiB; seeded in bulk in ${r.seedSeconds.toFixed(1)} s (${ops(r.keys / r.seedSeconds)} keys: generate, SHA-256, insert \`api_keys\` + \`key_secrets\`)`,
    "- **Reproduce:** `npm run bench:verify` (env `BENCH_KEYS`, `BENCH_LOOKUPS`, `BENCH_ROUNDS`, `BENCH_ROUND_MS`; see the file header)",
    "",
    "### Targets (issue 2)",
    "",
    "| target | measured | result |",
    "| --- | --- | --- |",
    `| cached verify ≥ 200,000/s in-process | ${ops(r.cached.median)} | **${mark(cachedOk)}** |`,
    `| cache-miss verify ≤ 0.2 ms p99 on SQLite, 1,000,000 keys | p99 ${us(r.missValid.p99)} (VALID), ${us(r.missNotFound.p99)} (NOT_FOUND) | **${missVerdict}** |`,
    "",
    `### Throughput, one in-process caller (median of ${ROUNDS} interleaved rounds of ~${ROUND_MS} ms)`,
    "",
    "| workload | ops/s | vs floor (b) | rounds |",
    "| --- | ---: | ---: | --- |",
    ...tpRows.map(
      ([n, t]) =>
        `| ${n.trim()} | ${ops(t.median)} | ${ratio(t.median / r.baselineCached.median)} | ${roundsOf(t)} |`,
    ),
    "",
    `### Cache-miss latency (${r.missValid.n.toLocaleString("en-US")} distinct keys each, every one a cache miss, µs)`,
    "",
    "| lookup | p50 | p90 | p99 | p99.9 | max | vs floor (d) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...latRows.map(
      ([n, l, c]) =>
        `| ${n.trim()} | ${l.p50.toFixed(1)} | ${l.p90.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.p999.toFixed(1)} | ${l.max.toFixed(1)} | ${c || "—"} |`,
    ),
    "",
    `Tail context: ${gc}.`,
    "",
    "### What is measured",
    "",
    "- **(a)** `KeyVerifier.verify({ key })` from `createContext` (default config, log level silent), awaited in a loop, for one VALID key already in the key cache: checksum, SHA-256, cache hit, status/expiry checks, last-used touch (in memory). The scoped row adds a resource, model and IP (the key allows all).",
    "- **(b)** the floor for (a): SHA-256 hex of the same key plus a `Map.get`, in a plain synchronous loop; the awaited variant shows what the `async` API alone costs.",
    "- **(c)** one `verify` per distinct key drawn at random from the store (VALID) and per fresh well-formed unknown key (NOT_FOUND); the cache counted every one as a miss. Each goes through Kysely to the same better-sqlite3 connection the server uses.",
    "- **(d)** the floor for (c): SHA-256 plus a raw better-sqlite3 prepared statement with the same joins and columns as the verifier's lookup (`key_secrets` ⋈ `api_keys` ⋈ `projects` on `hash = ?`) on its own read-only connection, interleaved with (c) in blocks of 500 keys.",
    "- **(e)** a key whose last checksum character is wrong: rejected by the offline checksum, the store is never touched.",
    "- The database file was just written, so it is in the OS page cache (as it is on a running server that has the RAM); SQLite's own page cache is the default 2 MiB per connection.",
    "<!-- verify-bench:end -->",
  ].join("\n");
  return { text, markdown: md };
}

function writeBenchmarksMd(section: string): string {
  const file = path.join(REPO_ROOT, "BENCHMARKS.md");
  const start = "<!-- verify-bench:start -->";
  const end = "<!-- verify-bench:end -->";
  let doc = existsSync(file)
    ? readFileSync(file, "utf8")
    : "# Benchmarks\n\nMeasured numbers for keyward's hot paths. Each section is written by its benchmark.\n";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + section + doc.slice(j + end.length);
  else doc = doc.replace(/\n*$/, "\n\n") + section + "\n";
  writeFileSync(file, doc);
  return file;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const parent = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : os.tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, "keyward-verify-bench-"));
  // The seeded store is ~550 MiB: remove it however the process ends (also if closing the
  // context throws or never settles and the process exits around it).
  const keep = process.env.BENCH_KEEP === "1";
  const cleanup = (): void => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanup);
  let ctx: AppContext | undefined;
  const loadBefore = os.loadavg()[0]!;
  try {
    console.log(`seeding ${KEYS.toLocaleString("en-US")} keys into ${dir} …`);
    const seeded = await seed(dir);
    console.log(
      `seeded in ${seeded.seconds.toFixed(1)} s, database ${(seeded.dbBytes / 2 ** 20).toFixed(0)} MiB          `,
    );
    // A clean env: the bench is about the embedded SQLite default, whatever KEYWARD_* is set.
    const config = loadConfig({}, { dataDir: dir, logLevel: "silent" });
    ctx = await createContext(config, createLogger("silent"));
    const measured = await run(ctx, ctx.store.location, seeded.sample);
    const results: Results = {
      ...measured,
      seedSeconds: seeded.seconds,
      dbBytes: seeded.dbBytes,
      load: { before: loadBefore, after: os.loadavg()[0]! },
    };
    const { text, markdown } = report(results);
    console.log(text);

    const resultsDir = path.join(REPO_ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    const json = path.join(resultsDir, `verify-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(
      json,
      JSON.stringify({ node: process.version, cores: os.cpus().length, ...results }, null, 2),
    );
    console.log(`raw results: ${path.relative(REPO_ROOT, json)}`);
    if (WRITE) console.log(`updated ${path.relative(REPO_ROOT, writeBenchmarksMd(markdown))}`);
    else console.log("BENCHMARKS.md not updated (smoke run; BENCH_WRITE=1 forces it)");
  } finally {
    if (ctx) await closeWithin(ctx, 10_000);
    cleanup();
    if (keep) console.log(`kept ${dir}`);
  }
}

/** Closes the context; a close that fails or hangs is reported, not allowed to hide results. */
async function closeWithin(ctx: AppContext, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  try {
    if ((await Promise.race([ctx.close(), timeout])) === "timeout")
      console.error(`warning: closing the app context took over ${ms} ms; gave up waiting`);
  } catch (err) {
    console.error(
      `warning: closing the app context failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
