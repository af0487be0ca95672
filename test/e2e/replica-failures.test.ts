import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import { openDatabase, type Database } from "../../src/store/database.js";
import { createTestStore, testDialects, type TestStore } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { freePort, storeEnv } from "../support/processes.js";
import {
  initStore,
  poolsFor,
  spread,
  startServe,
  stopServe,
  type CallResult,
  type ServeProcess,
} from "../support/serve-cluster.js";

/**
 * Failures under limits shared by replicas: a replica killed with SIGKILL while it holds
 * concurrency slots and budget reservations, and Redis stopped and started again. Redis is a
 * private `redis-server` of this test, so it can be stopped without touching anyone else's.
 */

const postgres = testDialects().includes("postgres");
const LEASE_MS = 2_000;
const BODY = JSON.stringify({
  model: "gpt-4o-mini",
  max_tokens: 10,
  messages: [{ role: "user", content: "hi" }],
});
const USAGE = { "x-mock-usage": "0,10" }; // 10 µ$ a request at the test's price
const budgetFor = (requests: number) => ({
  usd: requests * 0.00001,
  period: "day" as const,
  timezone: "UTC",
});
const served = (rs: CallResult[]) => rs.filter((r) => r.status === 200).length;

/** A redis-server of our own on `port`, without persistence. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn("redis-cli", ["-p", String(port), "ping"], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      probe.stdout.on("data", (d: Buffer) => (out += d.toString()));
      probe.on("exit", () => resolve(out.includes("PONG")));
    });
    if (ok) return child;
    if (Date.now() > deadline) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

interface LimitsReport {
  shared: number;
  rate_limits: string;
  degraded: boolean;
  reason?: string;
}

async function limitsOf(r: ServeProcess): Promise<LimitsReport> {
  return ((await (await fetch(`${r.url}/readyz`)).json()) as { limits: LimitsReport }).limits;
}

/** One request through `pool`; its status and error code. */
async function call(pool: Pool, key: string, headers: Record<string, string> = {}): Promise<CallResult> {
  return (await spread([pool], key, 1, 1, BODY, { ...USAGE, ...headers }))[0]!;
}

/** Polls `probe` until it returns true; how long it took (ms). */
async function timeUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  from = performance.now(),
): Promise<number> {
  for (;;) {
    if (await probe()) return performance.now() - from;
    if (performance.now() - from > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!postgres)("replica failures with shared limits (PostgreSQL + a private Redis)", () => {
  let mock: MockUpstream;
  let store: TestStore;
  let db: Database;
  let redis: ChildProcess;
  let redisPort: number;
  const replicas: ServeProcess[] = [];
  let pools: Pool[] = [];
  let admin: KeywardClient;
  let projectId: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mock = await startMockUpstream();
    store = await createTestStore("postgres");
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    const prices = path.join(store.dataDir, "prices.json");
    writeFileSync(prices, JSON.stringify({ "gpt-4o-mini": { input: 0, output: 1 } }));
    env = {
      ...process.env,
      ...storeEnv(store),
      KEYWARD_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KEYWARD_LIMITS_LEASE_MS: String(LEASE_MS),
      KEYWARD_UPSTREAM_BASE_URL: mock.url,
      KEYWARD_UPSTREAM_API_KEY: "sk-test-provider-key",
      KEYWARD_PRICES_FILE: prices,
      KEYWARD_LOG_LEVEL: "warn",
      KEYWARD_HEAP_TUNING: "false",
    };
    const adminKey = await initStore(env);
    for (let i = 0; i < 3; i++) replicas.push(await startServe(env));
    // A fourth replica that refuses rate-limited requests while Redis is down.
    replicas.push(await startServe({ ...env, KEYWARD_LIMITS_REDIS_DOWN: "closed" }));
    pools = poolsFor(replicas, 40);
    admin = new KeywardClient(replicas[0]!.url, adminKey);
    projectId = (await admin.createProject({ name: "failures" })).id;
    db = await openDatabase({
      dataDir: store.dataDir,
      databaseUrl: store.databaseUrl!,
      pgSchema: store.pgSchema!,
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    for (const r of replicas) await stopServe(r);
    await db?.close();
    if (redis) await stopRedis(redis);
    await mock?.close();
    await store?.cleanup();
  }, 60_000);

  it("kill -9 of a replica holding slots and reservations: both come back within the lease", async () => {
    const slots = await admin.createKey(projectId, { name: "slots", limits: { max_concurrent: 3 } });
    const budget = await admin.createKey(projectId, { name: "held", limits: { budget: budgetFor(3) } });
    const victim = replicas[2]!;
    const victimPool = pools[2]!;
    // Three requests of each key hang at the upstream, all through the victim.
    mock.resetStats();
    const hung = [slots.key, budget.key].flatMap((k) =>
      Array.from({ length: 3 }, () => call(victimPool, k, { "x-mock-hang": "1" })),
    );
    await expect.poll(() => mock.stats.inFlight, { timeout: 10_000 }).toBe(6);
    // Held across replicas: the others refuse both keys.
    expect(await call(pools[0]!, slots.key)).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    expect(await call(pools[1]!, budget.key)).toMatchObject({ status: 429, code: "budget_exceeded" });
    // Still held after more than a lease: the victim renews them while they are in flight.
    await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
    expect(await call(pools[0]!, slots.key)).toMatchObject({ status: 429 });
    expect(await call(pools[1]!, budget.key)).toMatchObject({ status: 429 });

    const killedAt = performance.now();
    victim.child.kill("SIGKILL");
    await victim.exited;
    const [slotsBack, budgetBack] = await Promise.all([
      timeUntil(async () => (await call(pools[0]!, slots.key)).status === 200, LEASE_MS * 5, killedAt),
      timeUntil(async () => (await call(pools[1]!, budget.key)).status === 200, LEASE_MS * 5, killedAt),
    ]);
    await Promise.allSettled(hung);
    console.info(
      `[replica failures] kill -9 with 3 slots + 3 budget holds (lease ${LEASE_MS} ms): ` +
        `slots back after ${slotsBack.toFixed(0)} ms, budget holds back after ${budgetBack.toFixed(0)} ms`,
    );
    // The lease, plus one sweep interval (half a lease) for the budget holds, plus slack for load.
    expect(slotsBack).toBeLessThan(LEASE_MS + 2_000);
    expect(budgetBack).toBeLessThan(LEASE_MS * 1.5 + 2_000);
    // Replace the victim for the next test.
    replicas[2] = await startServe(env);
    await pools[2]!.close();
    pools[2] = poolsFor([replicas[2]], 40)[0]!;
  }, 60_000);

  it("Redis stopped and started during load: local keeps serving, closed answers 503, budgets hold, recovery is automatic", async () => {
    const rated = await admin.createKey(projectId, { name: "rated", limits: { rpm: 100_000 } });
    const budgeted = await admin.createKey(projectId, {
      name: "budgeted",
      limits: { rpm: 100_000, budget: budgetFor(50) },
    });
    const budgetOnly = await admin.createKey(projectId, {
      name: "budget only",
      limits: { budget: budgetFor(1000) },
    });
    const local = pools.slice(0, 3);
    const closed = pools[3]!;
    expect(served(await spread(pools, rated.key, 40, 8, BODY, USAGE))).toBe(40);
    for (const r of replicas) expect(await limitsOf(r)).toMatchObject({ shared: 1, degraded: false });

    // Load on the `local` replicas across the whole outage, stop and restart included.
    let loading = true;
    const background: CallResult[] = [];
    const load = (async () => {
      while (loading) background.push(...(await spread(local, rated.key, 12, 6, BODY, USAGE)));
    })();
    await expect.poll(() => background.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await stopRedis(redis);
    await expect
      .poll(async () => (await Promise.all(replicas.map(limitsOf))).every((l) => l.shared === 0), {
        timeout: 10_000,
      })
      .toBe(true);
    const health = (await (await fetch(`${replicas[0]!.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe("degraded");
    expect((await limitsOf(replicas[0]!)).reason).toContain("redis unreachable");
    expect(await (await fetch(`${replicas[0]!.url}/metrics`)).text()).toMatch(/^keyward_limits_shared 0$/m);

    // During the outage: `local` replicas keep serving; the `closed` one refuses with a clear 503.
    const outage = await spread(local, rated.key, 60, 12, BODY, USAGE);
    expect(served(outage)).toBe(60);
    const refused = await call(closed, rated.key);
    expect(refused).toMatchObject({ status: 503, code: "rate_limits_unavailable" });
    // Budgets are in the database: served by every replica, and never overshot.
    expect(await call(closed, budgetOnly.key)).toMatchObject({ status: 200 });
    const burst = await spread(local, budgeted.key, 200, 150, BODY, USAGE);
    expect(served(burst)).toBeLessThanOrEqual(50);
    expect(burst.filter((r) => r.status !== 200).every((r) => r.code === "budget_exceeded")).toBe(true);

    const restarted = performance.now();
    redis = await startRedis(redisPort);
    const recovery = await timeUntil(
      async () => (await Promise.all(replicas.map(limitsOf))).every((l) => l.shared === 1),
      15_000,
      restarted,
    );
    loading = false;
    await load;
    // Every request of the background load was served, before, during and after the outage.
    expect(background.filter((r) => r.status !== 200)).toEqual([]);
    expect(await call(closed, rated.key)).toMatchObject({ status: 200 });
    expect(await (await fetch(`${replicas[3]!.url}/healthz`)).json()).toMatchObject({ status: "ok" });
    const afterwards = await spread(pools, budgeted.key, 50, 10, BODY, USAGE);
    const rows = await db.db
      .selectFrom("usage_events")
      .select((eb) => eb.fn.sum<number>("cost_micros").as("spend"))
      .where("key_id", "=", budgeted.id)
      .executeTakeFirstOrThrow();
    expect(Number(rows.spend ?? 0)).toBeLessThanOrEqual(500);
    console.info(
      `[replica failures] Redis outage: local served ${served(outage)}/60, closed answered ${refused.status} ${refused.code}; ` +
        `budget 50: ${served(burst)} served during the outage, ${served(afterwards)} after; ` +
        `background load ${served(background)}/${background.length} served; ` +
        `all replicas shared again ${recovery.toFixed(0)} ms after Redis was back`,
    );
  }, 90_000);
});
