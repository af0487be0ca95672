/**
 * Gateway overhead benchmark (issue 3, "Performance"). In one run, each in its own process:
 *
 *   mock     the mock OpenAI upstream (test/support/mock-upstream.ts), per-event stream delay;
 *   nginx    Debian's nginx, 1 worker, proxy_pass to the mock with a keepalive upstream pool;
 *   keyward  `node bin/keyward.js serve` from dist/, fresh SQLite data dir, default upstream = mock,
 *            one project and one `kw_live_` key created through the management API;
 *   load     the load generator (bench/load.ts, undici), driven over IPC.
 *
 * Targets: direct (load → mock), nginx (load → nginx → mock), keyward (load → keyward → mock).
 * Measured, rounds interleaved across targets (the machine is shared and noisy):
 *   1. max throughput: closed loop, 64 connections, POST /v1/chat/completions (not streamed);
 *   2. latency at a fixed 1,000 req/s (open loop, from the scheduled send time): p50/p90/p99;
 *   3. streaming time to first byte (SSE, the mock waits between events).
 * Pass/fail (issue 3): keyward adds ≤ 0.25 ms p50 and ≤ 1.5 ms p99 over direct at 1,000 req/s;
 * keyward max req/s ≥ 30% of nginx's; streaming TTFB adds ≤ 1 ms (p50).
 *
 * Usage: `npm run bench:gateway` (needs `apt-get install -y nginx`). Environment (all optional):
 *   BENCH_SECONDS          seconds per measurement, throughput and fixed rate (default 10)
 *   BENCH_ROUNDS           rounds per measurement and target (default 3)
 *   BENCH_WARMUP_SECONDS   closed-loop warm-up per target before measuring (default 3)
 *   BENCH_CONNECTIONS      connections for max throughput (default 64)
 *   BENCH_RATE             fixed rate in req/s (default 1000)
 *   BENCH_TTFB_COUNT       streamed requests per round and target (default 200)
 *   BENCH_TTFB_CONCURRENCY streams in flight (default 4)
 *   BENCH_STREAM_DELAY_MS  mock delay between stream events (default 20)
 *   BENCH_STREAM_CHUNKS    content chunks per stream (default 5)
 *   BENCH_TARGETS          comma list of direct,nginx,keyward,keyward-limits (default all), plus
 *                          the opt-in scale-out targets (issue 17), each a keyward of its own
 *                          through the limited key: keyward-redis (one process, limits and
 *                          budgets in Redis) and keyward-workers (`serve --workers 2`, Redis),
 *                          keyward-workers-open (the same workers, the key without limits) and
 *                          keyward-workers-commit (the same workers with KEYWARD_USAGE_DURABLE=on:
 *                          each commits its own usage instead of handing it to the primary)
 *   BENCH_REDIS_URL        the Redis of those targets (default redis://127.0.0.1:6379)
 *   BENCH_BASELINE         a git ref (e.g. HEAD~3): also measure keyward built from that commit,
 *                          as target keyward-base, interleaved with the others in the same run,
 *                          and report this commit against it (a git worktree in the temp dir,
 *                          sharing this checkout's node_modules)
 *   BENCH_TMPDIR           parent of the temp dir holding keyward's SQLite store (default: the
 *                          OS temp dir; /dev/shm takes the disk out of the picture)
 *   BENCH_PHASES           comma list of throughput,fixed,ttfb (default all three)
 *   BENCH_KEYWARD_LOG_LEVEL  KEYWARD_LOG_LEVEL for the keyward process (default: keyward's default)
 *   BENCH_HEAP_TUNING=0    run keyward with KEYWARD_HEAP_TUNING=false, V8's own collector settings
 *                          (an A/B experiment; such a run never writes BENCHMARKS.md)
 *   BENCH_PROFILE=1        run keyward with --cpu-prof; the profile lands in bench/results/
 *   BENCH_KEYWARD_NODE_ARGS  extra node flags for keyward (experiments; a full run refuses them)
 *   BENCH_QUIET_WAIT       before measuring, wait up to this many seconds for other processes
 *                          to use < 0.3 cores (default 120; 0 = don't wait)
 *   BENCH_BUILD=0          don't run `npm run build` first (default: build, so dist/ is current)
 *   BENCH_WRITE            1 = write BENCHMARKS.md, 0 = don't (default: 1 only with the default
 *                          durations and all three targets)
 * Every child is stopped on exit, on errors and on SIGINT/SIGTERM; BENCH_MAX_MINUTES (default
 * 30) bounds the whole run.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KeywardClient } from "../src/client/client.js";
import {
  formatSummary,
  stalls,
  summarise as summariseProfile,
  type CpuProfile,
} from "./cpuprofile-summary.js";
import {
  percentiles,
  startLoadWorker,
  type Job,
  type JobResult,
  type LoadWorker,
  type Percentiles,
} from "./load.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
const MARK_START = "<!-- gateway-bench:start -->";
const MARK_END = "<!-- gateway-bench:end -->";

const TARGET_P50_MS = 0.25;
const TARGET_P99_MS = 1.5;
const TARGET_RPS_RATIO = 0.3;
const TARGET_TTFB_MS = 1;

function envNum(name: string, fallback: number, min: number, integer = true): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new Error(`${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}, got "${raw}"`);
  return n;
}

const DEFAULTS = { seconds: 10, rounds: 3, warmup: 3, ttfbCount: 200 };
const SECONDS = envNum("BENCH_SECONDS", DEFAULTS.seconds, 0.5, false);
const ROUNDS = envNum("BENCH_ROUNDS", DEFAULTS.rounds, 1);
const WARMUP_SECONDS = envNum("BENCH_WARMUP_SECONDS", DEFAULTS.warmup, 0, false);
const CONNECTIONS = envNum("BENCH_CONNECTIONS", 64, 1);
const RATE = envNum("BENCH_RATE", 1000, 1);
const TTFB_COUNT = envNum("BENCH_TTFB_COUNT", DEFAULTS.ttfbCount, 1);
const TTFB_CONCURRENCY = envNum("BENCH_TTFB_CONCURRENCY", 4, 1);
const STREAM_DELAY_MS = envNum("BENCH_STREAM_DELAY_MS", 20, 0);
const STREAM_CHUNKS = envNum("BENCH_STREAM_CHUNKS", 5, 1);
const MAX_MINUTES = envNum("BENCH_MAX_MINUTES", 30, 1, false);
const PROFILE = process.env.BENCH_PROFILE === "1";
const BUILD = process.env.BENCH_BUILD !== "0";
const KEYWARD_LOG_LEVEL = process.env.BENCH_KEYWARD_LOG_LEVEL || undefined;
/** false: keyward runs with V8's default collector settings (src/server/heap-tuning.ts). */
const HEAP_TUNING = process.env.BENCH_HEAP_TUNING !== "0";
/** Extra node flags for the keyward process, for experiments (e.g. `--trace-gc`). */
const KEYWARD_NODE_ARGS = (process.env.BENCH_KEYWARD_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
const QUIET_WAIT_SECONDS = envNum("BENCH_QUIET_WAIT", 120, 0);
/** Where the temp dir (keyward's SQLite data dir, nginx's files, logs) goes. */
const TMP_PARENT = process.env.BENCH_TMPDIR ? path.resolve(process.env.BENCH_TMPDIR) : os.tmpdir();
type Phase = "throughput" | "fixed" | "ttfb";
const ALL_PHASES: readonly Phase[] = ["throughput", "fixed", "ttfb"];
const PHASES: Phase[] = (() => {
  const raw = process.env.BENCH_PHASES;
  if (!raw) return [...ALL_PHASES];
  const list = raw.split(",").map((s) => s.trim()) as Phase[];
  for (const p of list) if (!ALL_PHASES.includes(p)) throw new Error(`BENCH_PHASES: unknown phase "${p}"`);
  return list;
})();

type TargetName =
  | "direct"
  | "nginx"
  | "keyward"
  | "keyward-limits"
  | "keyward-base"
  | "keyward-redis"
  | "keyward-workers"
  | "keyward-workers-open"
  | "keyward-workers-commit";
const ALL_TARGETS: readonly TargetName[] = ["direct", "nginx", "keyward", "keyward-limits"];
/** Scale-out targets (issue 17), measured only when BENCH_TARGETS names them. */
const OPT_IN_TARGETS: readonly TargetName[] = [
  "keyward-redis",
  "keyward-workers",
  "keyward-workers-open",
  "keyward-workers-commit",
];
const REDIS_URL = process.env.BENCH_REDIS_URL || "redis://127.0.0.1:6379";
/** The keyward targets: the same process, through a key without and with limits and budgets. */
const KEYWARD_TARGETS: readonly TargetName[] = ["keyward", "keyward-limits"];
/**
 * Limits on the `keyward-limits` key and its project: every limiter path runs on every request
 * (requests, tokens, concurrency, key and project budgets with reservation and settlement), but
 * none is ever reached during the run, so the two keyward rows measure the cost of the checks.
 */
const BENCH_LIMITS = {
  key: {
    rpm: 10_000_000,
    tpm: 10_000_000_000,
    max_concurrent: 10_000,
    budget: { usd: 1_000_000, period: "month", timezone: "UTC" },
  },
  project: { rpm: 10_000_000, budget: { usd: 1_000_000, period: "day", timezone: "Europe/Berlin" } },
} as const;
const BASELINE_REF = process.env.BENCH_BASELINE || null;
/** Side by side (issue 19): this commit keeps ≥ 90% of the baseline's throughput … */
const TARGET_BASE_RPS_RATIO = 0.9;
/** Scale-out (issue 17): two workers with limits enforced globally reach half of nginx. */
const TARGET_WORKERS_RPS_RATIO = 0.5;
/** … and adds at most this much p50 latency at the fixed rate. */
const TARGET_BASE_P50_MS = 0.05;
const TARGETS: TargetName[] = (() => {
  const raw = process.env.BENCH_TARGETS;
  const list = raw ? (raw.split(",").map((s) => s.trim()) as TargetName[]) : [...ALL_TARGETS];
  for (const t of list)
    if (!ALL_TARGETS.includes(t) && !OPT_IN_TARGETS.includes(t))
      throw new Error(`BENCH_TARGETS: unknown target "${t}"`);
  if (BASELINE_REF) list.push("keyward-base");
  return list;
})();
const FULL_RUN =
  SECONDS >= DEFAULTS.seconds &&
  ROUNDS >= DEFAULTS.rounds &&
  TTFB_COUNT >= DEFAULTS.ttfbCount &&
  ALL_TARGETS.every((t) => TARGETS.includes(t)) &&
  ALL_PHASES.every((p) => PHASES.includes(p)) &&
  !process.env.BENCH_TMPDIR &&
  KEYWARD_NODE_ARGS.length === 0 &&
  HEAP_TUNING &&
  !PROFILE;
const WRITE = process.env.BENCH_WRITE ? process.env.BENCH_WRITE === "1" : FULL_RUN;

const CHAT_BODY = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Say this is a test." },
  ],
});
const STREAM_BODY = JSON.stringify({ ...(JSON.parse(CHAT_BODY) as object), stream: true });
const PROVIDER_KEY = "sk-mock-bench-0123456789abcdefghijklmnopqrstuvwxyz";

// ---------------------------------------------------------------------------------------------
// Child processes: tracked, and stopped on every way out.

interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
}

const children: Child[] = [];
let loadWorker: LoadWorker | undefined;
let tmpDir: string | undefined;
let profileFile = "";

function startChild(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  stdinPipe = false,
  cwd = REPO_ROOT,
): Child {
  const logFile = path.join(dir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const proc = spawn(cmd, args, {
    cwd,
    env,
    stdio: [stdinPipe ? "pipe" : "ignore", fd, fd],
  });
  closeSync(fd);
  const child = { name, proc, logFile };
  children.push(child);
  proc.on("error", (err) => console.error(`${name}: ${err.message}`));
  if (proc.pid !== undefined) watchdogs.push(watchdog(proc.pid));
  return child;
}

/**
 * If this process dies without cleaning up (SIGKILL, a crash), a tiny shell loop stops the
 * child within a second or two. Cleanup kills the watchdogs first, so they never outlive it.
 */
function watchdog(pid: number): ChildProcess {
  const script =
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; ` +
    `if kill -0 ${pid} 2>/dev/null; then kill -TERM ${pid}; sleep 5; kill -KILL ${pid} 2>/dev/null; fi`;
  const w = spawn("sh", ["-c", script], { stdio: "ignore" });
  w.on("error", () => undefined);
  return w;
}
const watchdogs: ChildProcess[] = [];

function logTail(child: Child, lines = 15): string {
  try {
    return readFileSync(child.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function exited(c: Child): boolean {
  return c.proc.exitCode !== null || c.proc.signalCode !== null;
}

async function stopChild(c: Child, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
  if (exited(c)) return;
  const gone = once(c.proc, "exit").then(() => undefined);
  c.proc.kill(signal);
  const timer = setTimeout(() => c.proc.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

let baselineRoot: string | undefined;

/**
 * Builds keyward as it was at `ref` in a git worktree under `dir`, sharing this checkout's
 * node_modules (the dependencies a few commits apart are the same packages, or close).
 */
function prepareBaseline(ref: string, dir: string): { root: string; commit: string } {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  }).trim();
  const root = path.join(dir, "baseline");
  execFileSync("git", ["worktree", "add", "--detach", root, commit], { cwd: REPO_ROOT, stdio: "ignore" });
  baselineRoot = root;
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"));
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  return { root, commit };
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const w of watchdogs) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
    await loadWorker?.close().catch(() => undefined);
    await Promise.all([...children].reverse().map((c) => stopChild(c).catch(() => undefined)));
    if (baselineRoot) spawnSync("git", ["worktree", "remove", "--force", baselineRoot], { cwd: REPO_ROOT });
    if (tmpDir && process.env.BENCH_KEEP !== "1") rmSync(tmpDir, { recursive: true, force: true });
    else if (tmpDir) console.log(`kept ${tmpDir}`);
  })();
  return cleaning;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping children …`);
    void cleanup().then(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const addr = srv.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `probe` returns true, or throws after `ms` (or as soon as the child died). */
async function waitUntil(
  what: string,
  child: Child | null,
  probe: () => Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child && exited(child))
      throw new Error(
        `${what}: process exited (${child.proc.exitCode ?? child.proc.signalCode})\n${logTail(child)}`,
      );
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end)
      throw new Error(`${what}: not ready after ${ms} ms${child ? "\n" + logTail(child) : ""}`);
    await sleep(100);
  }
}

async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

/** CPU seconds (user + system) used so far by a process and its threads, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Seconds a process's main thread has spent runnable but waiting for a CPU (/proc schedstat). */
function runqueueWaitSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9;
  } catch {
    return NaN;
  }
}

/** The pids of a process's children (nginx: the worker under the master). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Busy ticks (USER_HZ) of the whole machine so far, steal included, from /proc/stat. */
function machineBusyTicks(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return total - (v[3] ?? 0) - (v[4] ?? 0);
  } catch {
    return NaN;
  }
}

/** Pids of every process the bench started (nginx workers included). */
function ourPids(): number[] {
  const pids: number[] = [process.pid];
  for (const c of children) {
    if (c.proc.pid === undefined || exited(c)) continue;
    pids.push(c.proc.pid, ...childPids(c.proc.pid));
  }
  if (loadWorker) pids.push(loadWorker.pid);
  return pids;
}

/**
 * Waits until the machine is quiet (other processes use < 0.3 cores over 3 s) or `maxSeconds`
 * ran out. Returns the cores other processes were using when measuring began.
 */
async function waitForQuiet(maxSeconds: number): Promise<{ waited: number; otherCores: number }> {
  const t0 = Date.now();
  for (;;) {
    const ours0 = ourPids().reduce((a, p) => a + cpuSeconds(p), 0);
    const busy0 = machineBusyTicks();
    const w0 = performance.now();
    await sleep(3000);
    const wall = (performance.now() - w0) / 1000;
    const ours = ourPids().reduce((a, p) => a + cpuSeconds(p), 0) - ours0;
    const other = ((machineBusyTicks() - busy0) / 100 - ours) / wall;
    const waited = (Date.now() - t0) / 1000;
    if (!(other >= 0.3) || waited >= maxSeconds) return { waited, otherCores: Math.max(0, other) };
    console.log(
      `  machine busy: other processes use ${other.toFixed(2)} cores; waiting (up to ${maxSeconds} s) …`,
    );
  }
}

/** stdout + stderr of a short command, or null when it is not installed. */
function cmdOutput(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  if (r.error) return null;
  return `${r.stdout}${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------
// The three targets

interface Target {
  name: TargetName;
  origin: string;
  headers: Record<string, string>;
  /** Pids whose CPU time counts as "the proxy" (none for direct). */
  proxyPids: () => number[];
}

async function startMock(dir: string): Promise<{ child: Child; origin: string; port: number }> {
  const port = await freePort();
  const child = startChild(
    "mock",
    process.execPath,
    [
      "--import",
      "tsx",
      "test/support/mock-upstream.ts",
      "--port",
      String(port),
      "--delay-ms",
      String(STREAM_DELAY_MS),
      "--chunks",
      String(STREAM_CHUNKS),
      "--exit-on-stdin-close",
    ],
    { ...process.env, NODE_ENV: "production" },
    dir,
    true,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil("mock upstream", child, () => httpOk(`${origin}/v1/models`));
  return { child, origin, port };
}

function nginxVersion(): string | null {
  const out = cmdOutput("nginx", ["-v"]);
  if (out === null) return null;
  return out.trim().replace(/^nginx version:\s*/, "");
}

async function startNginx(dir: string, mockPort: number): Promise<{ child: Child; origin: string }> {
  const ndir = path.join(dir, "nginx");
  mkdirSync(ndir, { recursive: true });
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    mkdirSync(path.join(ndir, sub), { recursive: true });
  // Workers drop to an unprivileged user when the master runs as root: let them into the dirs.
  chmodSync(dir, 0o755);
  chmodSync(ndir, 0o755);
  const port = await freePort();
  const conf = `# generated by bench/gateway-bench.ts
worker_processes 1;
pid ${ndir}/nginx.pid;
error_log ${ndir}/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${ndir}/client_body;
  proxy_temp_path ${ndir}/proxy;
  fastcgi_temp_path ${ndir}/fastcgi;
  uwsgi_temp_path ${ndir}/uwsgi;
  scgi_temp_path ${ndir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  upstream mock {
    server 127.0.0.1:${mockPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Server-sent events must not wait in nginx's buffers.
      proxy_buffering off;
    }
  }
}
`;
  const confFile = path.join(ndir, "nginx.conf");
  writeFileSync(confFile, conf);
  const child = startChild(
    "nginx",
    "nginx",
    ["-c", confFile, "-p", ndir, "-e", path.join(ndir, "error.log"), "-g", "daemon off;"],
    process.env,
    dir,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil("nginx", child, () => httpOk(`${origin}/v1/models`));
  return { child, origin };
}

interface KeywardTarget {
  child: Child;
  origin: string;
  key: string;
  /** A key whose limits and budgets (BENCH_LIMITS) are checked on every request. */
  limitedKey: string;
  /** null when the gateway answered; else why keyward is not measured. */
  unavailable: string | null;
}

/**
 * Starts keyward from `root` (this checkout, or the baseline's worktree) as child `name`, with
 * a fresh SQLite store, and creates the bench's keys through its management API.
 */
async function startKeyward(
  dir: string,
  mockOrigin: string,
  root = REPO_ROOT,
  name = "keyward",
  extra: { env?: Record<string, string>; args?: string[] } = {},
): Promise<KeywardTarget> {
  const dataDir = path.join(dir, `${name}-data`);
  mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    KEYWARD_UPSTREAM_BASE_URL: `${mockOrigin}/v1`,
    KEYWARD_UPSTREAM_API_KEY: PROVIDER_KEY,
    ...(KEYWARD_LOG_LEVEL ? { KEYWARD_LOG_LEVEL } : {}),
    ...(HEAP_TUNING ? {} : { KEYWARD_HEAP_TUNING: "false" }),
    ...extra.env,
  };
  for (const k of Object.keys(env)) if (k.startsWith("KEYWARD_") && !(k in envKeep)) delete env[k];
  const initOut = execFileSync(
    process.execPath,
    ["bin/keyward.js", "init", "--json", "--data-dir", dataDir],
    {
      cwd: root,
      env,
      encoding: "utf8",
    },
  );
  const adminKey = (JSON.parse(initOut) as { admin_key: string }).admin_key;
  const port = await freePort();
  profileFile = path.join(
    RESULTS_DIR,
    `keyward-gateway-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`,
  );
  const nodeArgs = [
    ...KEYWARD_NODE_ARGS,
    ...(PROFILE
      ? ["--cpu-prof", `--cpu-prof-dir=${RESULTS_DIR}`, `--cpu-prof-name=${path.basename(profileFile)}`]
      : []),
  ];
  const child = startChild(
    name,
    process.execPath,
    [
      ...nodeArgs,
      "bin/keyward.js",
      "serve",
      "--data-dir",
      dataDir,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      ...(extra.args ?? []),
    ],
    env,
    dir,
    false,
    root,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil(name, child, () => httpOk(`${origin}/healthz`));
  const client = new KeywardClient(origin, adminKey);
  const project = await client.createProject({ name: "bench" });
  const created = await client.createKey(project.id, { name: "bench" });
  const key = created.key;
  const limitedProject = await client.createProject({ name: "bench-limits", limits: BENCH_LIMITS.project });
  const limitedKey = (
    await client.createKey(limitedProject.id, { name: "bench-limits", limits: BENCH_LIMITS.key })
  ).key;
  // Is the gateway there yet?
  let unavailable: string | null = null;
  try {
    const res = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: CHAT_BODY,
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    if (res.status !== 200)
      unavailable = `POST /v1/chat/completions through keyward answered HTTP ${res.status}: ${text.slice(0, 200)}`;
    else if (!text.includes('"choices"')) unavailable = `unexpected gateway response: ${text.slice(0, 200)}`;
  } catch (err) {
    unavailable = `gateway request failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  return { child, origin, key, limitedKey, unavailable };
}
/** KEYWARD_* variables the bench sets itself; the caller's others are dropped (reproducible). */
const envKeep: Record<string, true> = {
  KEYWARD_UPSTREAM_BASE_URL: true,
  KEYWARD_UPSTREAM_API_KEY: true,
  KEYWARD_LOG_LEVEL: true,
  KEYWARD_HEAP_TUNING: true,
  KEYWARD_REDIS_URL: true,
  KEYWARD_USAGE_DURABLE: true,
};

// ---------------------------------------------------------------------------------------------
// Measurements

interface CpuSplit {
  /** Shares of one core during the measured job. */
  proxy: number;
  mock: number;
  load: number;
  /** Cores used by processes the bench did not start (the noise), steal included. */
  other: number;
  /** Proxy CPU microseconds per request. */
  proxyUsPerReq: number;
  /** Share of the wall time the proxy's main thread was ready to run but waited for a core. */
  proxyRunqueue: number;
}

interface Measured {
  result: JobResult;
  cpu: CpuSplit;
}

async function measure(target: Target, job: Job, mockPid: number | undefined): Promise<Measured> {
  const pids = target.proxyPids();
  const sum = (ps: number[]): number => ps.reduce((a, p) => a + cpuSeconds(p), 0);
  const proxy0 = sum(pids);
  const mock0 = cpuSeconds(mockPid);
  const all = ourPids();
  const ours0 = sum(all);
  const busy0 = machineBusyTicks();
  const wait0 = pids.reduce((a, p) => a + runqueueWaitSeconds(p), 0);
  const t0 = performance.now();
  const result = await loadWorker!.run(job);
  const wall = (performance.now() - t0) / 1000;
  const waited = pids.reduce((a, p) => a + runqueueWaitSeconds(p), 0) - wait0;
  const proxyCpu = sum(pids) - proxy0;
  const mockCpu = cpuSeconds(mockPid) - mock0;
  const other = Math.max(0, ((machineBusyTicks() - busy0) / 100 - (sum(all) - ours0)) / wall);
  return {
    result,
    cpu: {
      proxy: pids.length ? proxyCpu / wall : 0,
      mock: mockCpu / wall,
      load: result.cpu,
      other,
      proxyUsPerReq: pids.length && result.requests ? (proxyCpu * 1e6) / result.requests : NaN,
      proxyRunqueue: pids.length ? waited / wall : NaN,
    },
  };
}

const spec = (t: Target, body: string) => ({
  url: t.origin,
  path: "/v1/chat/completions",
  method: "POST" as const,
  headers: { ...t.headers, "content-type": "application/json" },
  body,
});

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function checkErrors(t: Target, what: string, r: JobResult): void {
  if (r.errors > 0)
    console.warn(
      `  ! ${t.name} ${what}: ${r.errors}/${r.requests} failed (${r.firstError}); statuses ${JSON.stringify(r.statuses)}`,
    );
}

interface TargetResults {
  throughput: Measured[];
  fixed: Measured[];
  ttfb: Measured[];
}

// ---------------------------------------------------------------------------------------------
// Report

const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "–");
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : "–");
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : "–");
const signed = (n: number, digits = 3): string =>
  Number.isFinite(n) ? `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(digits)}` : "–";

interface Summary {
  date: string;
  node: string;
  nginx: string | null;
  machine: string;
  loadavg: [number, number, number];
  loadavgAfter: [number, number, number];
  quiet: { waited: number; otherCores: number };
  /** Bytes of the request body and of the mock's JSON answer. */
  sizes: { request: number; response: number };
  targets: TargetName[];
  keywardUnavailable: string | null;
  /** The commit measured as keyward-base (BENCH_BASELINE), and this checkout's. */
  baseline: { ref: string; commit: string; head: string } | null;
  config: {
    seconds: number;
    rounds: number;
    warmup: number;
    connections: number;
    rate: number;
    ttfbCount: number;
    ttfbConcurrency: number;
    streamDelayMs: number;
    streamChunks: number;
    keywardLogLevel: string;
    /** false when BENCH_HEAP_TUNING=0 ran keyward with V8's default collector settings. */
    heapTuning: boolean;
    storeParent: string;
  };
  perTarget: Partial<
    Record<
      TargetName,
      {
        maxRps: number;
        maxRpsRounds: number[];
        throughputLatency: Percentiles;
        cpu: CpuSplit;
        fixed: Percentiles;
        fixedServiceP50: number;
        fixedLag: Percentiles;
        fixedRounds: Array<{ p50: number; p99: number }>;
        ttfb: Percentiles;
        ttfbRounds: number[];
        streamTotal: number;
        errors: number;
        requests: number;
        /** Median cores used by other processes during this target's measurements. */
        otherCores: number;
      }
    >
  >;
  checks: Array<{ target: string; measured: string; pass: boolean | null }>;
}

function summarise(
  results: Partial<Record<TargetName, TargetResults>>,
  meta: Omit<Summary, "perTarget" | "checks">,
): Summary {
  const perTarget: Summary["perTarget"] = {};
  for (const [name, r] of Object.entries(results) as Array<[TargetName, TargetResults]>) {
    const pool = (ms: Measured[], pick: (x: JobResult) => number[] | undefined): number[] =>
      ms.flatMap((m) => pick(m.result) ?? []);
    const cpuMed = (k: keyof CpuSplit): number => median(r.throughput.map((m) => m.cpu[k]));
    const allRuns = [...r.throughput, ...r.fixed, ...r.ttfb];
    perTarget[name] = {
      maxRps: median(r.throughput.map((m) => m.result.rps)),
      maxRpsRounds: r.throughput.map((m) => m.result.rps),
      throughputLatency: r.throughput.map((m) => m.result.latency).sort((a, b) => a.p50 - b.p50)[
        r.throughput.length >> 1
      ]!,
      cpu: {
        proxy: cpuMed("proxy"),
        mock: cpuMed("mock"),
        load: cpuMed("load"),
        other: cpuMed("other"),
        proxyUsPerReq: cpuMed("proxyUsPerReq"),
        proxyRunqueue: cpuMed("proxyRunqueue"),
      },
      otherCores: median(allRuns.map((m) => m.cpu.other)),
      fixed: percentiles(pool(r.fixed, (x) => x.samples)),
      fixedServiceP50: median(r.fixed.map((m) => m.result.service?.p50 ?? NaN)),
      fixedLag: r.fixed.map((m) => m.result.sendLag!).sort((a, b) => a.p99 - b.p99)[r.fixed.length >> 1]!,
      fixedRounds: r.fixed.map((m) => ({ p50: m.result.latency.p50, p99: m.result.latency.p99 })),
      ttfb: percentiles(pool(r.ttfb, (x) => x.samples)),
      ttfbRounds: r.ttfb.map((m) => m.result.latency.p50),
      streamTotal: median(r.ttfb.map((m) => m.result.total?.p50 ?? NaN)),
      errors: allRuns.reduce((a, m) => a + m.result.errors, 0),
      requests: allRuns.reduce((a, m) => a + m.result.requests, 0),
    };
  }
  const d = perTarget.direct;
  const n = perTarget.nginx;
  const checks: Summary["checks"] = [];
  const judge = (v: number, ok: boolean): boolean | null => (Number.isFinite(v) ? ok : null);
  const rate = RATE.toLocaleString("en-US");
  for (const name of KEYWARD_TARGETS) {
    const k = perTarget[name];
    if (!k) continue;
    const who = name === "keyward" ? "keyward" : "keyward with limits and budgets";
    const p50Add = d ? k.fixed.p50 - d.fixed.p50 : NaN;
    const p99Add = d ? k.fixed.p99 - d.fixed.p99 : NaN;
    const ratio = n ? k.maxRps / n.maxRps : NaN;
    const ttfbAdd = d ? k.ttfb.p50 - d.ttfb.p50 : NaN;
    const ttfbAdd99 = d ? k.ttfb.p99 - d.ttfb.p99 : NaN;
    checks.push({
      target: `${who} adds ≤ ${TARGET_P50_MS} ms p50 over direct at ${rate} req/s`,
      measured: d ? `${signed(p50Add)} ms (p50 ${f3(k.fixed.p50)} vs ${f3(d.fixed.p50)} ms)` : "not measured",
      pass: judge(p50Add, p50Add <= TARGET_P50_MS),
    });
    checks.push({
      target: `${who} adds ≤ ${TARGET_P99_MS} ms p99 over direct at ${rate} req/s`,
      measured: d ? `${signed(p99Add)} ms (p99 ${f3(k.fixed.p99)} vs ${f3(d.fixed.p99)} ms)` : "not measured",
      pass: judge(p99Add, p99Add <= TARGET_P99_MS),
    });
    checks.push({
      target: `${who} max req/s ≥ ${pct(TARGET_RPS_RATIO)} of nginx (${CONNECTIONS} connections)`,
      measured: n ? `${pct(ratio)} (${int(k.maxRps)} vs ${int(n.maxRps)} req/s)` : "not measured",
      pass: judge(ratio, ratio >= TARGET_RPS_RATIO),
    });
    checks.push({
      target: `${who}: streaming TTFB adds ≤ ${TARGET_TTFB_MS} ms (p50)`,
      measured: d
        ? `${signed(ttfbAdd)} ms p50 (${f3(k.ttfb.p50)} vs ${f3(d.ttfb.p50)} ms); p99 ${signed(ttfbAdd99)} ms`
        : "not measured",
      pass: judge(ttfbAdd, ttfbAdd <= TARGET_TTFB_MS),
    });
  }
  const workers = perTarget["keyward-workers"];
  if (workers && n) {
    const ratio = workers.maxRps / n.maxRps;
    checks.push({
      target: `keyward --workers 2 with limits and budgets in Redis max req/s ≥ ${pct(TARGET_WORKERS_RPS_RATIO)} of nginx (issue 17)`,
      measured: `${pct(ratio)} (${int(workers.maxRps)} vs ${int(n.maxRps)} req/s)`,
      pass: judge(ratio, ratio >= TARGET_WORKERS_RPS_RATIO),
    });
  }
  const base = perTarget["keyward-base"];
  const head = perTarget.keyward;
  if (base && head && meta.baseline) {
    const ratio = head.maxRps / base.maxRps;
    const p50Add = head.fixed.p50 - base.fixed.p50;
    checks.push({
      target: `this commit's max req/s ≥ ${TARGET_BASE_RPS_RATIO}× the baseline's (${meta.baseline.commit})`,
      measured: `${ratio.toFixed(2)}× (${int(head.maxRps)} vs ${int(base.maxRps)} req/s)`,
      pass: judge(ratio, ratio >= TARGET_BASE_RPS_RATIO),
    });
    checks.push({
      target: `this commit adds ≤ ${TARGET_BASE_P50_MS} ms p50 over the baseline at ${rate} req/s`,
      measured: `${signed(p50Add)} ms (p50 ${f3(head.fixed.p50)} vs ${f3(base.fixed.p50)} ms)`,
      pass: judge(p50Add, p50Add <= TARGET_BASE_P50_MS),
    });
  }
  return { ...meta, perTarget, checks };
}

function headCommit(): string {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  }).trim();
  return dirty ? `${commit} with uncommitted changes` : commit;
}

const verdict = (p: boolean | null): string => (p === null ? "n/a" : p ? "PASS" : "FAIL");

function markdown(s: Summary): string {
  const L: string[] = [];
  const rows = s.targets.filter((t) => s.perTarget[t]);
  const c = s.config;
  L.push(MARK_START);
  L.push("## Gateway overhead (`bench/gateway-bench.ts`)");
  L.push("");
  L.push("Generated by the benchmark; re-running it replaces this section.");
  L.push("");
  L.push(`- **Date:** ${s.date}`);
  L.push(`- **Node:** ${s.node}; **nginx:** ${s.nginx ?? "not installed"}`);
  L.push(
    `- **Machine:** ${s.machine} (shared, noisy: rounds interleaved, medians and pooled percentiles, not best runs); load average ${s.loadavg.map((x) => x.toFixed(2)).join(" / ")} before, ${s.loadavgAfter.map((x) => x.toFixed(2)).join(" / ")} after; other processes used ${f2(s.quiet.otherCores)} cores when measuring began (${s.quiet.otherCores < 0.3 ? `quiet after ${s.quiet.waited.toFixed(0)} s` : `still busy after waiting ${s.quiet.waited.toFixed(0)} s for quiet`}) and a median of ${rows.map((t) => `${f2(s.perTarget[t]!.otherCores)} (${t})`).join(", ")} cores during the measurements`,
  );
  L.push(
    "- **Reproduce:** `apt-get install -y nginx && npm run bench:gateway` (env `BENCH_SECONDS`, `BENCH_ROUNDS`, `BENCH_RATE`, `BENCH_TTFB_COUNT`, `BENCH_STREAM_DELAY_MS`, `BENCH_TARGETS`, `BENCH_PROFILE`; see the file header). Without nginx the script stops and says so.",
  );
  L.push(
    `- **This run:** ${c.rounds} rounds × ${c.seconds} s per measurement and target, ${c.warmup} s warm-up per target; keyward log level ${c.keywardLogLevel}; V8 collector tuning ${c.heapTuning ? "on (keyward's default)" : "off (BENCH_HEAP_TUNING=0)"}; keyward's SQLite store in a fresh dir under \`${c.storeParent}\``,
  );
  if (s.keywardUnavailable) L.push(`- **keyward not measured:** ${s.keywardUnavailable}`);
  L.push("");
  L.push("### Targets (issue 3; issue 4: the same with limits and budgets on)");
  L.push("");
  L.push("| target | measured | result |");
  L.push("| --- | --- | --- |");
  for (const ch of s.checks) L.push(`| ${ch.target} | ${ch.measured} | **${verdict(ch.pass)}** |`);
  L.push("");
  const base = s.perTarget["keyward-base"];
  const head = s.perTarget.keyward;
  if (base && head && s.baseline) {
    L.push(`### This commit / the baseline, side by side (issue 19)`);
    L.push("");
    L.push(
      `Two keyward processes in the same run, rounds interleaved: this checkout (${s.baseline.head}) and commit ${s.baseline.commit} (\`BENCH_BASELINE=${s.baseline.ref}\`), each with its own fresh store, through a key without limits.`,
    );
    L.push("");
    L.push("| measure | baseline | this commit | this / baseline |");
    L.push("| --- | ---: | ---: | ---: |");
    const row = (label: string, a: number, b: number, fmt: (x: number) => string) =>
      L.push(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)}× |`);
    row("max req/s (64 connections)", base.maxRps, head.maxRps, int);
    row("keyward µs CPU per request at max req/s", base.cpu.proxyUsPerReq, head.cpu.proxyUsPerReq, f2);
    row(`p50 at ${c.rate.toLocaleString("en-US")} req/s (ms)`, base.fixed.p50, head.fixed.p50, f3);
    row(`p99 at ${c.rate.toLocaleString("en-US")} req/s (ms)`, base.fixed.p99, head.fixed.p99, f3);
    row("streaming TTFB p50 (ms)", base.ttfb.p50, head.ttfb.p50, f3);
    L.push("");
  }
  const off = s.perTarget.keyward;
  const on = s.perTarget["keyward-limits"];
  if (off && on) {
    L.push("### Limits and budgets: with / without (issue 4)");
    L.push("");
    L.push(
      "The same keyward process, two keys: one without limits, one whose key and project carry every limit (see *What is measured*), none of them reached during the run.",
    );
    L.push("");
    L.push("| measure | without limits | with limits and budgets | with / without |");
    L.push("| --- | ---: | ---: | ---: |");
    const row = (label: string, a: number, b: number, fmt: (x: number) => string) =>
      L.push(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)}× |`);
    row("max req/s (64 connections)", off.maxRps, on.maxRps, int);
    row("keyward µs CPU per request at max req/s", off.cpu.proxyUsPerReq, on.cpu.proxyUsPerReq, f2);
    row(`p50 at ${c.rate.toLocaleString("en-US")} req/s (ms)`, off.fixed.p50, on.fixed.p50, f3);
    row(`p99 at ${c.rate.toLocaleString("en-US")} req/s (ms)`, off.fixed.p99, on.fixed.p99, f3);
    row("streaming TTFB p50 (ms)", off.ttfb.p50, on.ttfb.p50, f3);
    L.push("");
  }
  L.push(`### Max throughput: closed loop, ${c.connections} connections, ${c.rounds} × ${c.seconds} s`);
  L.push("");
  L.push(
    "| target | req/s (median) | rounds | latency p50 / p99 (ms) | proxy CPU | proxy µs CPU/req | proxy waited for a core | mock CPU | load-gen CPU | other processes |",
  );
  L.push("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const t of rows) {
    const r = s.perTarget[t]!;
    L.push(
      `| ${t} | ${int(r.maxRps)} | ${r.maxRpsRounds.map((x) => int(x)).join(", ")} | ${f2(r.throughputLatency.p50)} / ${f2(r.throughputLatency.p99)} | ${t === "direct" ? "–" : pct(r.cpu.proxy)} | ${t === "direct" ? "–" : f2(r.cpu.proxyUsPerReq)} | ${t === "direct" ? "–" : pct(r.cpu.proxyRunqueue)} | ${pct(r.cpu.mock)} | ${pct(r.cpu.load)} | ${pct(r.cpu.other)} |`,
    );
  }
  L.push("");
  L.push(
    `### Latency at a fixed ${c.rate.toLocaleString("en-US")} req/s: open loop, ${c.rounds} × ${c.seconds} s pooled (ms, from the scheduled send time)`,
  );
  L.push("");
  L.push(
    "| target | p50 | p90 | p99 | p99.9 | max | added p50 / p99 vs direct | per-round p50 / p99 | service p50 | sender lag p50 / p99 |",
  );
  L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
  const d = s.perTarget.direct;
  for (const t of rows) {
    const r = s.perTarget[t]!;
    const added =
      d && t !== "direct"
        ? `${signed(r.fixed.p50 - d.fixed.p50)} / ${signed(r.fixed.p99 - d.fixed.p99)}`
        : "–";
    L.push(
      `| ${t} | ${f3(r.fixed.p50)} | ${f3(r.fixed.p90)} | ${f3(r.fixed.p99)} | ${f3(r.fixed.p999)} | ${f2(r.fixed.max)} | ${added} | ${r.fixedRounds.map((x) => `${f3(x.p50)} / ${f2(x.p99)}`).join("; ")} | ${f3(r.fixedServiceP50)} | ${f3(r.fixedLag.p50)} / ${f3(r.fixedLag.p99)} |`,
    );
  }
  L.push("");
  L.push(
    `### Streaming time to first byte: ${c.ttfbCount} streams × ${c.rounds} rounds, ${c.ttfbConcurrency} at a time; the mock waits ${c.streamDelayMs} ms before each of ${c.streamChunks} content chunks and the finish chunk (ms)`,
  );
  L.push("");
  L.push(
    "| target | TTFB p50 | p90 | p99 | max | added p50 / p99 vs direct | per-round p50 | whole stream p50 |",
  );
  L.push("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
  for (const t of rows) {
    const r = s.perTarget[t]!;
    const added =
      d && t !== "direct" ? `${signed(r.ttfb.p50 - d.ttfb.p50)} / ${signed(r.ttfb.p99 - d.ttfb.p99)}` : "–";
    L.push(
      `| ${t} | ${f3(r.ttfb.p50)} | ${f3(r.ttfb.p90)} | ${f3(r.ttfb.p99)} | ${f2(r.ttfb.max)} | ${added} | ${r.ttfbRounds.map(f3).join(", ")} | ${f2(r.streamTotal)} |`,
    );
  }
  L.push("");
  L.push("### What is measured");
  L.push("");
  L.push(
    "- Four processes on the same 2 cores: the load generator (`bench/load.ts`, undici `Pool` with keep-alive, `pipelining: 1`), the mock upstream (`test/support/mock-upstream.ts`, node:http), nginx (1 worker) and keyward (`node bin/keyward.js serve` from `dist/`, SQLite in a fresh temp dir, its default settings, V8 collector tuning included: `src/server/heap-tuning.ts`). The load generator and the mock take CPU in every row, so *direct* is the floor and the proxies compete with both for the second core.",
  );
  L.push(
    `- Every request is \`POST /v1/chat/completions\` with a ${s.sizes.request}-byte JSON body (\`gpt-4o-mini\`, two messages); the mock answers ${s.sizes.response} bytes of JSON with \`usage\`. Through keyward it carries \`Authorization: Bearer kw_live_…\` (a key with \`all\` permissions created via the management API); keyward verifies it (cached after the first request), swaps in the provider key, forwards over keep-alive connections (undici, \`src/gateway/upstream-client.ts\`), meters the usage and answers. Direct and nginx requests carry a provider-style bearer of the same length.`,
  );
  L.push(
    `- **keyward-limits** is the same keyward process through a second key, in a second project: the key has ${JSON.stringify(BENCH_LIMITS.key)} and its project ${JSON.stringify(BENCH_LIMITS.project)}. Every request is admitted against all of them — requests and tokens per minute (tokens estimated from the body and the default max output), concurrency, and both budgets, reserving the worst-case cost and settling it with the real usage — and none is reached, so the difference between the two keyward rows is the cost of the checks.`,
  );
  L.push(
    "- **Max throughput:** 64 connections each send the next request as soon as the previous answer is read; completed 2xx requests per second. *Proxy CPU* is the proxy's CPU time (all threads; nginx: its worker) over the round's wall time, as a share of one core; *µs CPU/req* is that time per request — the cost that limits throughput when the cores are full. *Waited for a core* is the share of the time the proxy's main thread was ready to run but other processes had the CPUs (from `/proc/<pid>/task/<pid>/schedstat`): the noise's direct effect on the proxy. *Other processes* is the CPU used by processes this bench did not start.",
  );
  L.push(
    "- **Fixed rate:** requests are sent on a fixed schedule (a worker thread sleeping in `Atomics.wait` wakes the sender on time), whether or not earlier ones have been answered; latency runs from the *scheduled* send time to the last response byte, so stalls are not hidden (no coordinated omission). *Service p50* is measured from the actual send; *sender lag* is how late the load generator sent (it is part of every row alike). Added latency = keyward − direct of the pooled percentiles.",
  );
  L.push(
    "- **TTFB:** `stream: true` requests; from sending the request to the first body byte (the mock writes the first SSE event immediately, then waits between events). keyward adds `stream_options.include_usage` upstream and strips the usage chunk for a client that did not ask for it; a gateway that buffered would show up here as tens of ms.",
  );
  L.push("- Raw results of every round: `bench/results/gateway-<date>.json` (not committed).");
  L.push(MARK_END);
  return L.join("\n");
}

function printTable(s: Summary): void {
  const rows = s.targets.filter((t) => s.perTarget[t]);
  console.log("");
  console.log(
    "target         max req/s   proxy µs/req   p50@rate   p99@rate   added p50/p99        TTFB p50   TTFB p99   added TTFB",
  );
  const d = s.perTarget.direct;
  for (const t of rows) {
    const r = s.perTarget[t]!;
    const added =
      d && t !== "direct"
        ? `${signed(r.fixed.p50 - d.fixed.p50)} / ${signed(r.fixed.p99 - d.fixed.p99)}`
        : "–";
    const addedT = d && t !== "direct" ? signed(r.ttfb.p50 - d.ttfb.p50) : "–";
    console.log(
      `${t.padEnd(14)} ${int(r.maxRps).padStart(9)}   ${(t === "direct" ? "–" : f2(r.cpu.proxyUsPerReq)).padStart(12)}   ${f3(r.fixed.p50).padStart(8)}   ${f3(r.fixed.p99).padStart(8)}   ${added.padEnd(19)}  ${f3(r.ttfb.p50).padStart(8)}   ${f3(r.ttfb.p99).padStart(8)}   ${addedT}`,
    );
  }
  console.log("");
  for (const ch of s.checks) console.log(`${verdict(ch.pass).padEnd(4)}  ${ch.target}: ${ch.measured}`);
  console.log("");
}

function writeBenchmarksMd(section: string): string {
  const file = path.join(REPO_ROOT, "BENCHMARKS.md");
  let doc = existsSync(file)
    ? readFileSync(file, "utf8")
    : "# Benchmarks\n\nMeasured numbers for keyward's hot paths. Each section is written by its benchmark.\n";
  const i = doc.indexOf(MARK_START);
  const j = doc.indexOf(MARK_END);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + section + doc.slice(j + MARK_END.length);
  else doc = doc.replace(/\n*$/, "\n\n") + section + "\n";
  writeFileSync(file, doc);
  return file;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const nginx = nginxVersion();
  if (TARGETS.includes("nginx") && nginx === null) {
    console.error(
      "gateway-bench: nginx is not installed. The baseline needs Debian's nginx:\n\n" +
        "    apt-get install -y nginx      (as root; `apt-get update` first)\n\n" +
        "or run without it: BENCH_TARGETS=direct,keyward npm run bench:gateway",
    );
    process.exitCode = 1;
    return;
  }
  const wantKeyward = KEYWARD_TARGETS.some((t) => TARGETS.includes(t));
  const wantScaleOut = OPT_IN_TARGETS.some((t) => TARGETS.includes(t));
  if (BUILD && (wantKeyward || wantScaleOut)) {
    console.log("building dist/ (npm run build) …");
    try {
      execFileSync("npm", ["run", "-s", "build"], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "inherit", "inherit"],
      });
    } catch {
      throw new Error("`npm run build` failed; fix the build (or BENCH_BUILD=0 to use the dist/ as it is)");
    }
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  tmpDir = mkdtempSync(path.join(TMP_PARENT, "keyward-gateway-bench-"));
  const loadavg = os.loadavg() as [number, number, number];

  const mock = await startMock(tmpDir);
  const sample = await fetch(`${mock.origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: CHAT_BODY,
  });
  const sizes = { request: Buffer.byteLength(CHAT_BODY), response: (await sample.arrayBuffer()).byteLength };
  console.log(`mock upstream  ${mock.origin} (pid ${mock.child.proc.pid})`);
  const targets: Target[] = [];
  if (TARGETS.includes("direct"))
    targets.push({
      name: "direct",
      origin: mock.origin,
      headers: { authorization: `Bearer ${PROVIDER_KEY}` },
      proxyPids: () => [],
    });
  if (TARGETS.includes("nginx")) {
    const n = await startNginx(tmpDir, mock.port);
    const master = n.child.proc.pid!;
    console.log(`nginx          ${n.origin} (${nginx}, master pid ${master})`);
    targets.push({
      name: "nginx",
      origin: n.origin,
      headers: { authorization: `Bearer ${PROVIDER_KEY}` },
      proxyPids: () => childPids(master),
    });
  }
  let keywardUnavailable: string | null = null;
  let keywardChild: Child | undefined;
  if (wantKeyward) {
    const k = await startKeyward(tmpDir, mock.origin);
    keywardChild = k.child;
    console.log(`keyward        ${k.origin} (pid ${k.child.proc.pid})`);
    if (k.unavailable) {
      keywardUnavailable = k.unavailable;
      console.warn(`  ! keyward skipped: ${k.unavailable}`);
    } else {
      const pid = k.child.proc.pid!;
      if (TARGETS.includes("keyward"))
        targets.push({
          name: "keyward",
          origin: k.origin,
          headers: { authorization: `Bearer ${k.key}` },
          proxyPids: () => [pid],
        });
      if (TARGETS.includes("keyward-limits"))
        targets.push({
          name: "keyward-limits",
          origin: k.origin,
          headers: { authorization: `Bearer ${k.limitedKey}` },
          proxyPids: () => [pid],
        });
    }
  }
  for (const name of OPT_IN_TARGETS.filter((t) => TARGETS.includes(t))) {
    // A keyward of its own per scale-out target, so its Redis-backed counters are its alone.
    const workers = name.startsWith("keyward-workers") ? ["--workers", "2"] : [];
    const k = await startKeyward(tmpDir, mock.origin, REPO_ROOT, name, {
      env: {
        KEYWARD_REDIS_URL: REDIS_URL,
        ...(name === "keyward-workers-commit" ? { KEYWARD_USAGE_DURABLE: "on" } : {}),
      },
      args: workers,
    });
    console.log(
      `${name.padEnd(14)} ${k.origin} (pid ${k.child.proc.pid}${workers.length ? ", 2 workers" : ""})`,
    );
    if (k.unavailable) throw new Error(`${name} unavailable: ${k.unavailable}`);
    const pid = k.child.proc.pid!;
    targets.push({
      name,
      origin: k.origin,
      // keyward-workers-open: the same workers through the key without limits (their ceiling).
      headers: { authorization: `Bearer ${name === "keyward-workers-open" ? k.key : k.limitedKey}` },
      // The primary and its workers: all of it is the proxy's CPU.
      proxyPids: () => [pid, ...childPids(pid)],
    });
  }
  let baselineCommit: string | null = null;
  if (BASELINE_REF) {
    const base = prepareBaseline(BASELINE_REF, tmpDir);
    baselineCommit = base.commit;
    const k = await startKeyward(tmpDir, mock.origin, base.root, "keyward-base");
    console.log(`keyward-base   ${k.origin} (commit ${base.commit}, pid ${k.child.proc.pid})`);
    if (k.unavailable) throw new Error(`baseline keyward unavailable: ${k.unavailable}`);
    const pid = k.child.proc.pid!;
    targets.push({
      name: "keyward-base",
      origin: k.origin,
      headers: { authorization: `Bearer ${k.key}` },
      proxyPids: () => [pid],
    });
  }
  if (targets.length === 0) throw new Error("nothing to measure");

  loadWorker = startLoadWorker();
  const mockPid = mock.child.proc.pid;
  const results: Partial<Record<TargetName, TargetResults>> = {};
  for (const t of targets) results[t.name] = { throughput: [], fixed: [], ttfb: [] };

  const est =
    targets.length * (WARMUP_SECONDS + ROUNDS * (2 * SECONDS + 1)) +
    (targets.length * ROUNDS * TTFB_COUNT * (STREAM_CHUNKS + 3) * STREAM_DELAY_MS) / 1000 / TTFB_CONCURRENCY;
  console.log(`\nmeasuring ${targets.map((t) => t.name).join(", ")}: about ${Math.ceil(est / 60)} min\n`);

  const quiet =
    QUIET_WAIT_SECONDS > 0 ? await waitForQuiet(QUIET_WAIT_SECONDS) : { waited: 0, otherCores: NaN };
  if (QUIET_WAIT_SECONDS > 0)
    console.log(`other processes: ${quiet.otherCores.toFixed(2)} cores busy at the start\n`);
  for (const t of targets) {
    if (WARMUP_SECONDS > 0) {
      const w = await loadWorker.run({
        ...spec(t, CHAT_BODY),
        mode: "closed",
        connections: CONNECTIONS,
        seconds: WARMUP_SECONDS,
      });
      checkErrors(t, "warm-up", w);
      const s = await loadWorker.run({
        ...spec(t, STREAM_BODY),
        mode: "ttfb",
        count: 20,
        concurrency: TTFB_CONCURRENCY,
      });
      checkErrors(t, "stream warm-up", s);
      console.log(`warm-up ${t.name.padEnd(14)} ${int(w.rps)} req/s`);
    }
  }

  // Each phase: the job per target, what its errors are called, and its progress line.
  const phases: Record<Phase, { job: (t: Target) => Job; label: string; line: (m: Measured) => string }> = {
    throughput: {
      job: (t) => ({
        ...spec(t, CHAT_BODY),
        mode: "closed",
        connections: CONNECTIONS,
        seconds: SECONDS,
        warmupSeconds: 0.5,
      }),
      label: "throughput",
      line: ({ result: r, cpu }) =>
        `throughput  ${int(r.rps).padStart(7)} req/s  p50 ${f2(r.latency.p50)} ms  CPU proxy ${pct(cpu.proxy)} (${f2(cpu.proxyUsPerReq)} µs/req, waited for a core ${pct(cpu.proxyRunqueue)}) mock ${pct(cpu.mock)} load ${pct(cpu.load)} other ${pct(cpu.other)}`,
    },
    fixed: {
      job: (t) => ({
        ...spec(t, CHAT_BODY),
        mode: "open",
        rate: RATE,
        seconds: SECONDS,
        warmupSeconds: 1,
        connections: CONNECTIONS,
      }),
      label: "fixed rate",
      line: ({ result: r, cpu }) =>
        `${RATE} req/s   p50 ${f3(r.latency.p50)}  p90 ${f3(r.latency.p90)}  p99 ${f3(r.latency.p99)}  max ${f2(r.latency.max)} ms  (lag p50 ${f3(r.sendLag!.p50)}, other CPU ${pct(cpu.other)})`,
    },
    ttfb: {
      job: (t) => ({
        ...spec(t, STREAM_BODY),
        mode: "ttfb",
        count: TTFB_COUNT,
        concurrency: TTFB_CONCURRENCY,
        warmupCount: 4,
      }),
      label: "ttfb",
      line: ({ result: r, cpu }) =>
        `stream TTFB p50 ${f3(r.latency.p50)}  p99 ${f3(r.latency.p99)} ms  (whole stream p50 ${f2(r.total!.p50)} ms, other CPU ${pct(cpu.other)})`,
    },
  };
  for (const phase of ALL_PHASES) {
    if (!PHASES.includes(phase)) continue;
    const { job, label, line } = phases[phase];
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of rotate(targets, round)) {
        const m = await measure(t, job(t), mockPid);
        checkErrors(t, label, m.result);
        results[t.name]![phase].push(m);
        console.log(`round ${round + 1}/${ROUNDS} ${t.name.padEnd(14)} ${line(m)}`);
      }
    }
  }

  const summary = summarise(results, {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    node: process.version,
    nginx,
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}`,
    loadavg,
    loadavgAfter: os.loadavg() as [number, number, number],
    quiet,
    sizes,
    targets: targets.map((t) => t.name),
    keywardUnavailable,
    baseline: baselineCommit ? { ref: BASELINE_REF!, commit: baselineCommit, head: headCommit() } : null,
    config: {
      seconds: SECONDS,
      rounds: ROUNDS,
      warmup: WARMUP_SECONDS,
      connections: CONNECTIONS,
      rate: RATE,
      ttfbCount: TTFB_COUNT,
      ttfbConcurrency: TTFB_CONCURRENCY,
      streamDelayMs: STREAM_DELAY_MS,
      streamChunks: STREAM_CHUNKS,
      keywardLogLevel: KEYWARD_LOG_LEVEL ?? "default (info)",
      heapTuning: HEAP_TUNING,
      storeParent: TMP_PARENT,
    },
  });
  printTable(summary);

  const stamp = summary.date.replace(/[:.]/g, "-");
  const raw = Object.fromEntries(
    Object.entries(results).map(([name, r]) => [
      name,
      {
        throughput: r.throughput.map((m) => ({ ...m, result: { ...m.result, samples: undefined } })),
        fixed: r.fixed.map((m) => ({ ...m, result: { ...m.result, samples: undefined } })),
        ttfb: r.ttfb.map((m) => ({ ...m, result: { ...m.result, samples: undefined } })),
      },
    ]),
  );
  const jsonFile = path.join(RESULTS_DIR, `gateway-${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify({ summary, rounds: raw }, null, 2));
  console.log(`raw results: ${path.relative(REPO_ROOT, jsonFile)}`);

  if (keywardChild && PROFILE) {
    // keyward writes the profile when it exits (SIGTERM: graceful shutdown).
    await stopChild(keywardChild);
    if (existsSync(profileFile)) {
      console.log(`CPU profile: ${path.relative(REPO_ROOT, profileFile)}\n`);
      const profile = JSON.parse(readFileSync(profileFile, "utf8")) as CpuProfile;
      console.log(formatSummary(summariseProfile(profile), 25));
      // Store calls run synchronously on the event loop (better-sqlite3): how long did they hold it?
      const runs = stalls(profile, "sqlite");
      console.log(
        `\nevent loop held by SQLite calls: ${runs.length} stretches, ${runs.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, ` +
          `median ${(runs[runs.length >> 1] ?? 0).toFixed(2)} ms, longest ${runs
            .slice(0, 8)
            .map((x) => x.toFixed(1))
            .join(", ")} ms`,
      );
    } else console.warn(`  ! no CPU profile at ${profileFile}`);
  }
  if (WRITE) console.log(`updated ${path.relative(REPO_ROOT, writeBenchmarksMd(markdown(summary)))}`);
  else console.log("BENCHMARKS.md not updated (not a full run; BENCH_WRITE=1 forces it)");
}

const deadline = setTimeout(() => {
  console.error(`gateway-bench: exceeded BENCH_MAX_MINUTES=${MAX_MINUTES}; stopping`);
  void cleanup().then(() => process.exit(1));
}, MAX_MINUTES * 60_000);
deadline.unref();

main()
  .catch((err: unknown) => {
    console.error(`gateway-bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
