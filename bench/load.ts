/**
 * HTTP load generator (undici, keep-alive Pool). Three measurements:
 *
 *   closed  C connections, each sends its next request when the previous one finished, for T
 *           seconds → requests/s (and the latency of those requests);
 *   open    a fixed rate R req/s for T seconds, sent on a schedule that does not wait for
 *           responses; latency is measured from each request's *scheduled* send time, so a
 *           stall shows up in the percentiles instead of silently lowering the rate
 *           (no coordinated omission). The schedule is kept by a worker thread sleeping in
 *           Atomics.wait (sub-millisecond, unlike timers) that wakes the sender;
 *   ttfb    N streaming requests, K at a time: time from sending to the first body byte.
 *
 * Runs in its own process so it never shares an event loop with the servers it measures:
 *   node --import tsx --no-memory-reducer bench/load.ts --url http://127.0.0.1:8080 --path /v1/chat/completions \
 *       --mode closed|open|ttfb [-c 64] [-d 10] [--rate 1000] [--count 200] [--concurrency 4] \
 *       [--warmup 1] [-H 'authorization: Bearer kw_live_…'] [--body '{"model":…}'] [--samples FILE]
 * prints one JSON result (and, with --samples, writes the raw latency samples to FILE).
 * `bench/gateway-bench.ts` instead forks it with `--ipc` and sends jobs (see `startLoadWorker`).
 */
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { Pool, type Dispatcher } from "undici";

export interface RequestSpec {
  /** Origin, e.g. http://127.0.0.1:8080 */
  url: string;
  path: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

export interface ClosedJob extends RequestSpec {
  mode: "closed";
  connections: number;
  seconds: number;
  /** Seconds of load before measuring starts (default 0). */
  warmupSeconds?: number;
}

export interface OpenJob extends RequestSpec {
  mode: "open";
  rate: number;
  seconds: number;
  /** Pool size (default 64); more than the rate × latency in flight ever needs. */
  connections?: number;
  warmupSeconds?: number;
}

export interface TtfbJob extends RequestSpec {
  mode: "ttfb";
  count: number;
  concurrency: number;
  /** Requests before measuring starts (default 0). */
  warmupCount?: number;
}

export type Job = ClosedJob | OpenJob | TtfbJob;

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface JobResult {
  mode: Job["mode"];
  /** Measured (post-warm-up) requests that completed, any status. */
  requests: number;
  /** Transport errors plus non-2xx responses. */
  errors: number;
  statuses: Record<string, number>;
  firstError: string | null;
  /** Measured wall time in seconds. */
  seconds: number;
  /** Completed requests per second of measured time. */
  rps: number;
  /** Closed/open: request latency; ttfb: time to the first body byte. Milliseconds. */
  latency: Percentiles;
  /** Raw latency samples in ms (open and ttfb only), for pooling across rounds. */
  samples?: number[];
  /** Open: how late the sender dispatched vs the schedule (ms). */
  sendLag?: Percentiles;
  /** Open: latency from the actual dispatch (ms), i.e. without the scheduler's lag. */
  service?: Percentiles;
  /** Ttfb: time to the end of the stream (ms). */
  total?: Percentiles;
  /** CPU time the load generator used during the measured window, as a share of one core. */
  cpu: number;
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function percentiles(samples: ArrayLike<number>): Percentiles {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  if (n === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const at = (q: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: s[n - 1]!, mean: sum / n };
}

const nowNs = (): bigint => process.hrtime.bigint();
const msBetween = (a: bigint, b: bigint): number => Number(b - a) / 1e6;

// ---------------------------------------------------------------------------------------------
// One request through Pool.dispatch (no stream objects: cheaper than request(), so the client
// spends less of the shared CPU).

interface Outcome {
  status: number;
  error: Error | null;
  /** When the first body byte arrived (0n: never). */
  firstByte: bigint;
  end: bigint;
}

function send(pool: Pool, opts: Dispatcher.DispatchOptions, done: (o: Outcome) => void): void {
  let status = 0;
  let firstByte = 0n;
  // The classic handler interface: Pool/Client in undici 7 accept it directly (the
  // controller-style one only through interceptors).
  pool.dispatch(opts, {
    onConnect() {},
    onHeaders(statusCode) {
      status = statusCode;
      return true;
    },
    onData() {
      if (firstByte === 0n) firstByte = nowNs();
      return true;
    },
    onComplete() {
      done({ status, error: null, firstByte, end: nowNs() });
    },
    onError(error) {
      done({ status, error, firstByte, end: nowNs() });
    },
  });
}

function dispatchOptions(spec: RequestSpec): Dispatcher.DispatchOptions {
  const headers: Record<string, string> = { ...spec.headers };
  if (spec.body !== undefined) headers["content-type"] ??= "application/json";
  return {
    path: spec.path,
    method: spec.method ?? (spec.body !== undefined ? "POST" : "GET"),
    headers,
    body: spec.body ?? null,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  };
}

function newPool(spec: RequestSpec, connections: number): Pool {
  return new Pool(spec.url, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    connectTimeout: 5_000,
  });
}

class Tally {
  requests = 0;
  errors = 0;
  statuses: Record<string, number> = {};
  firstError: string | null = null;
  add(o: Outcome): void {
    this.requests++;
    const key = o.error ? "error" : String(o.status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (o.error || o.status < 200 || o.status >= 300) {
      this.errors++;
      this.firstError ??= o.error ? `${o.error.name}: ${o.error.message}` : `HTTP ${o.status}`;
    }
  }
}

const cpuShare = (startCpu: NodeJS.CpuUsage, wallMs: number): number => {
  const u = process.cpuUsage(startCpu);
  return wallMs > 0 ? (u.user + u.system) / 1000 / wallMs : 0;
};

// ---------------------------------------------------------------------------------------------
// Closed loop

async function runClosed(job: ClosedJob): Promise<JobResult> {
  const pool = newPool(job, job.connections);
  const opts = dispatchOptions(job);
  const tally = new Tally();
  const lat: number[] = [];
  const t0 = nowNs();
  const measureFrom = t0 + BigInt(Math.round((job.warmupSeconds ?? 0) * 1e9));
  const stopAt = measureFrom + BigInt(Math.round(job.seconds * 1e9));
  let cpu0 = process.cpuUsage();
  let cpuTaken = false;
  let lastEnd = measureFrom;
  await new Promise<void>((resolve) => {
    let active = job.connections;
    const loop = (): void => {
      const start = nowNs();
      if (start >= stopAt) {
        if (--active === 0) resolve();
        return;
      }
      if (!cpuTaken && start >= measureFrom) {
        cpu0 = process.cpuUsage();
        cpuTaken = true;
      }
      send(pool, opts, (o) => {
        if (start >= measureFrom && o.end <= stopAt) {
          tally.add(o);
          lat.push(msBetween(start, o.end));
          if (o.end > lastEnd) lastEnd = o.end;
        }
        // A failing target must not turn into a hot loop.
        if (o.error) setTimeout(loop, 10);
        else loop();
      });
    };
    for (let i = 0; i < job.connections; i++) loop();
  });
  const wallMs = msBetween(measureFrom, stopAt);
  const cpu = cpuShare(cpu0, wallMs);
  await pool.close();
  return {
    mode: "closed",
    requests: tally.requests,
    errors: tally.errors,
    statuses: tally.statuses,
    firstError: tally.firstError,
    seconds: wallMs / 1000,
    rps: tally.requests / (wallMs / 1000),
    latency: percentiles(lat),
    cpu,
  };
}

// ---------------------------------------------------------------------------------------------
// Open loop

/**
 * The metronome: a worker thread that sleeps until each batch is due (Atomics.wait has
 * sub-millisecond resolution; libuv timers have 1 ms), then stores the index of the last
 * request that is due in shared memory and wakes the main thread (Atomics.notify; the main
 * thread waits with Atomics.waitAsync, which resolves on its event loop).
 *
 * It must never stall: a stall here releases the delayed requests in one burst, which every
 * target has to absorb, so it inflates the tail of whichever target is slowest per request.
 * Its loop allocates nothing (plain numbers from performance.now(), not BigInts; no
 * postMessage, whose serialisation allocates), so it never needs a scavenge; and V8's memory
 * reducer, which ran a 7–11 ms mark-compact in this quiet isolate about 6 s into every run
 * (seen with --trace-gc), is turned off where this file is forked. The schedule's start is
 * given as the main thread's hrtime; the worker maps it onto its own performance.now() once.
 */
const METRONOME = `
const { workerData } = require("node:worker_threads");
const { startNs, intervalNs, total, shared } = workerData;
const due = new Int32Array(shared);
const sleep = new Int32Array(new SharedArrayBuffer(4));
const startMs = performance.now() + Number(BigInt(startNs) - process.hrtime.bigint()) / 1e6;
const intervalMs = intervalNs / 1e6;
let i = 0;
while (i < total) {
  const at = startMs + i * intervalMs;
  const now = performance.now();
  if (now < at) { Atomics.wait(sleep, 0, 0, at - now); continue; }
  // everything due by now
  i = Math.min(total, Math.floor((now - startMs) / intervalMs) + 1);
  Atomics.store(due, 0, i);
  Atomics.notify(due, 0);
}
`;

/** Resolves each time the metronome moves `due[0]` past `seen`, with the new value. */
async function nextDue(due: Int32Array, seen: number): Promise<number> {
  // The timeout only lets the caller notice a worker that died; the schedule never waits a second.
  const wait = Atomics.waitAsync(due, 0, seen, 1000);
  if (wait.async) await wait.value;
  return Atomics.load(due, 0);
}

async function runOpen(job: OpenJob): Promise<JobResult> {
  const pool = newPool(job, job.connections ?? 64);
  const opts = dispatchOptions(job);
  const tally = new Tally();
  const lat: number[] = [];
  const svc: number[] = [];
  const lag: number[] = [];
  const warm = Math.round((job.warmupSeconds ?? 0) * job.rate);
  const measured = Math.round(job.seconds * job.rate);
  const total = warm + measured;
  const intervalNs = 1e9 / job.rate;
  // Warm the connections a little before the schedule starts.
  const start = nowNs() + 50_000_000n;
  let cpu0 = process.cpuUsage();
  let cpuT0 = 0n;
  let next = 0;
  let finished = 0;
  const shared = new SharedArrayBuffer(4);
  const due = new Int32Array(shared);
  const worker = new Worker(METRONOME, {
    eval: true,
    workerData: { startNs: start.toString(), intervalNs, total, shared },
  });
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    worker.on("error", (err) => {
      failed = true;
      reject(err);
    });
    const sendUpTo = (upTo: number): void => {
      const now = nowNs();
      for (; next < upTo; next++) {
        const i = next;
        const intended = start + BigInt(Math.round(i * intervalNs));
        if (i === warm) {
          cpu0 = process.cpuUsage();
          cpuT0 = now;
        }
        const sentAt = nowNs();
        send(pool, opts, (o) => {
          if (i >= warm) {
            tally.add(o);
            lat.push(msBetween(intended, o.end));
            svc.push(msBetween(sentAt, o.end));
            lag.push(msBetween(intended, sentAt));
          }
          if (++finished === total) resolve();
        });
      }
    };
    void (async () => {
      while (next < total && !failed) sendUpTo(await nextDue(due, next));
    })();
  });
  const wallMs = msBetween(cpuT0, nowNs());
  const cpu = cpuShare(cpu0, wallMs);
  await worker.terminate();
  await pool.close();
  return {
    mode: "open",
    requests: tally.requests,
    errors: tally.errors,
    statuses: tally.statuses,
    firstError: tally.firstError,
    seconds: job.seconds,
    rps: tally.requests / job.seconds,
    latency: percentiles(lat),
    samples: lat,
    sendLag: percentiles(lag),
    service: percentiles(svc),
    cpu,
  };
}

// ---------------------------------------------------------------------------------------------
// Streaming time to first byte

async function runTtfb(job: TtfbJob): Promise<JobResult> {
  const pool = newPool(job, job.concurrency);
  const opts = dispatchOptions(job);
  const tally = new Tally();
  const ttfb: number[] = [];
  const totals: number[] = [];
  const warm = job.warmupCount ?? 0;
  const total = warm + job.count;
  let issued = 0;
  let t0 = nowNs();
  let cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    let active = job.concurrency;
    const loop = (): void => {
      if (issued >= total) {
        if (--active === 0) resolve();
        return;
      }
      const i = issued++;
      if (i === warm) {
        t0 = nowNs();
        cpu0 = process.cpuUsage();
      }
      const start = nowNs();
      send(pool, opts, (o) => {
        if (i >= warm) {
          tally.add(o);
          if (o.firstByte !== 0n) ttfb.push(msBetween(start, o.firstByte));
          totals.push(msBetween(start, o.end));
        }
        if (o.error) setTimeout(loop, 10);
        else loop();
      });
    };
    for (let c = 0; c < job.concurrency; c++) loop();
  });
  const wallMs = msBetween(t0, nowNs());
  const cpu = cpuShare(cpu0, wallMs);
  await pool.close();
  return {
    mode: "ttfb",
    requests: tally.requests,
    errors: tally.errors,
    statuses: tally.statuses,
    firstError: tally.firstError,
    seconds: wallMs / 1000,
    rps: tally.requests / (wallMs / 1000),
    latency: percentiles(ttfb),
    samples: ttfb,
    total: percentiles(totals),
    cpu,
  };
}

export function runJob(job: Job): Promise<JobResult> {
  switch (job.mode) {
    case "closed":
      return runClosed(job);
    case "open":
      return runOpen(job);
    case "ttfb":
      return runTtfb(job);
  }
}

// ---------------------------------------------------------------------------------------------
// As a child process

interface JobMessage {
  id: number;
  job: Job;
}
type ReplyMessage = { id: number; result: JobResult } | { id: number; error: string };

export interface LoadWorker {
  pid: number;
  run(job: Job): Promise<JobResult>;
  close(): Promise<void>;
}

/** Forks this file as a load-generator process that runs one job at a time over IPC. */
export function startLoadWorker(): LoadWorker {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--ipc"], {
    // V8's memory reducer runs a mark-compact in a quiet isolate some seconds after it starts,
    // to give memory back: in the metronome (which allocates nothing) that took 7–11 ms about
    // 6 s into every run, delaying a batch of sends. It can only be turned off per process.
    execArgv: ["--import", "tsx", "--no-memory-reducer"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  child.on("message", (m: ReplyMessage) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if ("error" in m) p.reject(new Error(`load generator: ${m.error}`));
    else p.resolve(m.result);
  });
  child.on("exit", (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    pid: child.pid ?? -1,
    run(job) {
      return new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        child.send({ id, job } satisfies JobMessage);
      });
    },
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.disconnect();
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      });
    },
  };
}

interface CliJob {
  job: Job;
  /** --samples FILE: also write the raw latency samples (ms, JSON array) there, for pooling. */
  samplesFile: string | undefined;
}

function parseCli(argv: readonly string[]): CliJob {
  const a = new Map<string, string>();
  const headers: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === "-H" || k === "--header") {
      const c = v.indexOf(":");
      if (c < 1) throw new Error(`bad header "${v}"`);
      headers[v.slice(0, c).trim().toLowerCase()] = v.slice(c + 1).trim();
    } else a.set(k.replace(/^-+/, ""), v);
    i++;
  }
  const num = (name: string, fallback: number, min = Number.MIN_VALUE): number => {
    const v = a.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const url = a.get("url");
  if (!url) throw new Error("--url is required");
  const spec: RequestSpec = {
    url,
    path: a.get("path") ?? "/v1/chat/completions",
    headers,
    ...(a.has("body") ? { body: a.get("body")! } : {}),
  };
  const mode = a.get("mode") ?? "closed";
  const seconds = num("d", num("seconds", 10));
  return { job: cliJob(), samplesFile: a.get("samples") };

  function cliJob(): Job {
    if (mode === "closed")
      return {
        ...spec,
        mode,
        connections: num("c", num("connections", 64)),
        seconds,
        warmupSeconds: num("warmup", 1, 0),
      };
    if (mode === "open")
      return {
        ...spec,
        mode,
        rate: num("rate", 1000),
        seconds,
        connections: num("c", 64),
        warmupSeconds: num("warmup", 1, 0),
      };
    if (mode === "ttfb")
      return {
        ...spec,
        mode,
        count: num("count", 200),
        concurrency: num("concurrency", 1),
        warmupCount: num("warmup", 10, 0),
      };
    throw new Error(`--mode must be closed, open or ttfb`);
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv.includes("--ipc") && process.send) {
    process.on("message", (m: JobMessage) => {
      runJob(m.job).then(
        (result) => process.send!({ id: m.id, result } satisfies ReplyMessage),
        (err: unknown) =>
          process.send!({
            id: m.id,
            error: err instanceof Error ? err.message : String(err),
          } satisfies ReplyMessage),
      );
    });
    process.on("disconnect", () => process.exit(0));
  } else {
    try {
      const cli = parseCli(process.argv.slice(2));
      const result = await runJob(cli.job);
      if (cli.samplesFile) writeFileSync(cli.samplesFile, JSON.stringify(result.samples ?? []));
      delete result.samples;
      process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    } catch (err) {
      console.error(`load: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    }
  }
}
