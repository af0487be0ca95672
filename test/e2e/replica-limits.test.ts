import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import { openDatabase, type Database } from "../../src/store/database.js";
import { createTestStore, testDialects, testRedisUrl, type TestStore } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { storeEnv } from "../support/processes.js";
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
 * Limits across three real `keyward serve` replicas on one PostgreSQL database (and one Redis),
 * with every request sent round-robin: rate and concurrency limits are exact across them with
 * Redis, and budgets are never overshot with or without Redis (they are held in the database).
 */

const redisUrl = testRedisUrl();
const postgres = testDialects().includes("postgres");

/** 10 output tokens at $1 per 1M: every request reserves, and costs, exactly 10 µ$. */
const BUDGET_BODY = JSON.stringify({
  model: "gpt-4o-mini",
  max_tokens: 10,
  messages: [{ role: "user", content: "hi" }],
});
const BUDGET_HEADERS = { "x-mock-usage": "0,10" };
/** 50 requests' worth. */
const BUDGET = { usd: 0.0005, period: "day" as const, timezone: "UTC" };

const served = (rs: CallResult[]) => rs.filter((r) => r.status === 200).length;

interface Cluster {
  mock: MockUpstream;
  store: TestStore;
  db: Database;
  replicas: ServeProcess[];
  pools: Pool[];
  admin: KeywardClient;
  projectId: string;
  close(): Promise<void>;
}

/** Three replicas on a fresh PostgreSQL schema, with Redis when `redis` is given. */
async function startCluster(redis: string | null): Promise<Cluster> {
  const mock = await startMockUpstream();
  const store = await createTestStore("postgres");
  const prices = path.join(store.dataDir, "prices.json");
  writeFileSync(prices, JSON.stringify({ "gpt-4o-mini": { input: 0, output: 1 } }));
  const env = {
    ...process.env,
    ...storeEnv(store),
    KEYWARD_REDIS_URL: redis ?? "",
    KEYWARD_UPSTREAM_BASE_URL: mock.url,
    KEYWARD_UPSTREAM_API_KEY: "sk-test-provider-key",
    KEYWARD_PRICES_FILE: prices,
    KEYWARD_LOG_LEVEL: "warn",
    KEYWARD_HEAP_TUNING: "false",
  };
  const adminKey = await initStore(env);
  const replicas: ServeProcess[] = [];
  for (let i = 0; i < 3; i++) replicas.push(await startServe(env));
  const pools = poolsFor(replicas, 80);
  const admin = new KeywardClient(replicas[0]!.url, adminKey);
  const projectId = (await admin.createProject({ name: "replicated limits" })).id;
  const db = await openDatabase({
    dataDir: store.dataDir,
    databaseUrl: store.databaseUrl!,
    pgSchema: store.pgSchema!,
  });
  return {
    mock,
    store,
    db,
    replicas,
    pools,
    admin,
    projectId,
    async close() {
      await Promise.all(pools.map((p) => p.close()));
      for (const r of replicas) await stopServe(r);
      await db.close();
      await mock.close();
      await store.cleanup();
    },
  };
}

/** The key's recorded usage once `expected` rows are written: count and spend (µ$). */
async function recorded(
  db: Database,
  keyId: string,
  expected: number,
): Promise<{ rows: number; spend: number }> {
  const read = async () => {
    const r = await db.db
      .selectFrom("usage_events")
      .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.sum<number>("cost_micros").as("spend")])
      .where("key_id", "=", keyId)
      .where("status", "=", 200)
      .executeTakeFirstOrThrow();
    return { rows: Number(r.n), spend: Number(r.spend ?? 0) };
  };
  await expect.poll(async () => (await read()).rows, { timeout: 15_000 }).toBe(expected);
  return read();
}

/** 200 concurrent requests over the replicas against a fresh key with a 50-request budget. */
async function budgetRound(c: Cluster, i: number): Promise<{ served: number; spend: number }> {
  const key = await c.admin.createKey(c.projectId, { name: `budget ${i}`, limits: { budget: BUDGET } });
  const results = await spread(c.pools, key.key, 200, 200, BUDGET_BODY, BUDGET_HEADERS);
  const ok = served(results);
  // Everything else was refused for the budget: nothing failed for another reason.
  expect(results.filter((r) => r.status !== 200).every((r) => r.code === "budget_exceeded")).toBe(true);
  const usage = await recorded(c.db, key.id, ok);
  expect(usage.spend).toBeLessThanOrEqual(500);
  return { served: ok, spend: usage.spend };
}

describe.skipIf(!redisUrl || !postgres)("three replicas on PostgreSQL + Redis", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster(redisUrl);
  }, 90_000);
  afterAll(async () => c?.close(), 60_000);

  it("rpm: 20 admits exactly 20 of 60 requests spread over the replicas; a project rpm too", async () => {
    const key = await c.admin.createKey(c.projectId, { name: "rpm", limits: { rpm: 20 } });
    const results = await spread(c.pools, key.key, 60, 12, BUDGET_BODY);
    expect(served(results)).toBe(20);
    expect(results.filter((r) => r.status === 429).every((r) => r.code === "rate_limit_exceeded")).toBe(true);

    const project = await c.admin.createProject({ name: "project rpm", limits: { rpm: 15 } });
    const a = await c.admin.createKey(project.id, { name: "a" });
    const b = await c.admin.createKey(project.id, { name: "b" });
    const both = await Promise.all([
      spread(c.pools, a.key, 30, 6, BUDGET_BODY),
      spread(c.pools, b.key, 30, 6, BUDGET_BODY),
    ]);
    const projectServed = served(both[0]) + served(both[1]);
    expect(projectServed).toBe(15);
    console.info(
      `[replica limits] rpm 20: ${served(results)} of 60 admitted; project rpm 15: ${projectServed} of 60`,
    );
  }, 60_000);

  it("max_concurrent: 3 — the slow upstream never sees more than 3 in flight across replicas", async () => {
    const key = await c.admin.createKey(c.projectId, { name: "concurrent", limits: { max_concurrent: 3 } });
    c.mock.resetStats();
    // Waves of 15 at once until 12 were served: slots are freed and taken again across replicas.
    const results: CallResult[] = [];
    for (let wave = 0; wave < 40 && served(results) < 12; wave++)
      results.push(...(await spread(c.pools, key.key, 15, 15, BUDGET_BODY, { "x-mock-latency-ms": "150" })));
    const peak = c.mock.stats.peakInFlight;
    expect(peak).toBeLessThanOrEqual(3);
    expect(served(results)).toBeGreaterThanOrEqual(12);
    expect(results.filter((r) => r.status !== 200).every((r) => r.code === "rate_limit_exceeded")).toBe(true);
    console.info(
      `[replica limits] max_concurrent 3: upstream peak in flight ${peak}; ${served(results)} of ${results.length} served`,
    );
  }, 60_000);

  it("a budget for 50 requests is never overshot by 200 concurrent requests (20 rounds, fresh key each)", async () => {
    const rounds: number[] = [];
    let maxSpend = 0;
    for (let i = 0; i < 20; i++) {
      const r = await budgetRound(c, i);
      rounds.push(r.served);
      maxSpend = Math.max(maxSpend, r.spend);
    }
    // Reservations equal the real cost, so exactly 50 fit, whichever replica served them.
    expect(rounds.every((n) => n === 50)).toBe(true);
    console.info(
      `[replica limits] budget 500 µ$ (50 requests), 20 rounds of 200: served ${rounds.join(",")}; max spend ${maxSpend} µ$`,
    );
  }, 300_000);
});

describe.skipIf(!postgres)("three replicas on PostgreSQL without Redis", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster(null);
  }, 90_000);
  afterAll(async () => c?.close(), 60_000);

  it("budgets are still global: 200 concurrent requests never overshoot a 50-request budget", async () => {
    const r = await budgetRound(c, 0);
    expect(r.served).toBe(50);
    const health = (await (await fetch(`${c.replicas[1]!.url}/readyz`)).json()) as {
      limits: { rate_limits: string };
    };
    expect(health.limits.rate_limits).toBe("per process");
    console.info(`[replica limits, no Redis] budget 500 µ$: served ${r.served} of 200, spend ${r.spend} µ$`);
  }, 120_000);
});
