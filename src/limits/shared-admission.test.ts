import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, testRedisUrl, type TestStore } from "../../test/support/harness.js";
import { freePort } from "../../test/support/processes.js";
import type { AlertEvent } from "../alerts/types.js";
import { createLogger } from "../log/logger.js";
import { openDatabase, type Database } from "../store/database.js";
import type { AdmissionRequest } from "./admission.js";
import { BudgetLedger } from "./ledger.js";
import { Limiter } from "./limiter.js";
import { RedisRates } from "./redis-rates.js";
import { SharedAdmission, type RedisDownPolicy } from "./shared-admission.js";

const url = testRedisUrl();
const NOW = Date.UTC(2026, 11, 7, 12);
const budget = (usd: number) => ({ usd, period: "day" as const, timezone: "UTC" });
const base: AdmissionRequest = {
  keyId: "key_1",
  projectId: "proj_1",
  keyLimits: null,
  projectLimits: null,
  estimatedTokens: 10,
  worstCostMicros: 100,
  now: NOW,
};

describe.skipIf(!url)("shared admission (Redis rate limits + store budgets)", () => {
  let redis: Redis;
  let down: Redis;
  let store: TestStore;
  let db: Database;
  beforeAll(async () => {
    redis = new Redis(url!, { lazyConnect: true });
    await redis.connect();
    // Nothing listens there: a Redis that is down, as the fail-fast connection sees it.
    down = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on("error", () => undefined); // expected: nothing listens
    await down.connect().catch(() => undefined);
  });
  afterAll(() => {
    redis.disconnect();
    down.disconnect();
  });
  afterEach(async () => {
    await db?.close().catch(() => undefined);
    await store?.cleanup();
  });

  async function setup(connection: Redis | null, redisDown: RedisDownPolicy = "local") {
    store = await createTestStore("sqlite");
    db = await openDatabase({ dataDir: store.dataDir });
    const alerts: AlertEvent[] = [];
    const sink = { emit: (e: AlertEvent) => void alerts.push(e) };
    const loadSpend = async () => 0;
    const ledger = new BudgetLedger(db.db, loadSpend, "me", 5_000, sink);
    const admission = new SharedAdmission({
      redis: connection
        ? new RedisRates(connection, `kwtest:${randomBytes(6).toString("hex")}:`, 5_000)
        : null,
      local: new Limiter(loadSpend, sink),
      redisDown,
      ledger,
      alerts: sink,
      logger: createLogger("silent"),
    });
    return { admission, alerts, ledger };
  }

  it("a request a budget refuses gives its rate allowance back (consumes nothing)", async () => {
    const { admission, alerts } = await setup(redis);
    const projectLimits = { rpm: 2 };
    const budgeted = { ...base, keyLimits: { budget: budget(0.0001) }, projectLimits }; // 100 µ$: one request
    expect((await admission.admit(budgeted)).ok).toBe(true);
    expect(await admission.admit(budgeted)).toMatchObject({
      ok: false,
      failed: { kind: "budget", scope: "key" },
    });
    // The project's second request slot is still free for another key.
    const other = { ...base, keyId: "key_2", projectLimits };
    expect((await admission.admit(other)).ok).toBe(true);
    expect(await admission.admit(other)).toMatchObject({
      ok: false,
      failed: { kind: "requests", scope: "project" },
    });
    expect(alerts.map((a) => a.type).sort()).toEqual(["budget.exceeded", "key.rate_limited"]);
    expect(admission.health()).toMatchObject({ shared: 1, degraded: false });
  });

  it("settlement replaces the reservation with the real cost; written back, it raises the threshold alerts", async () => {
    const { admission, alerts, ledger } = await setup(redis);
    const r = { ...base, keyLimits: { budget: budget(0.001), max_concurrent: 1 } }; // 1000 µ$
    const a = await admission.admit(r);
    if (!a.ok) throw new Error("refused");
    expect(await admission.admit(r)).toMatchObject({ ok: false, failed: { kind: "concurrency" } });
    admission.settle(a.ticket, 5, 850, NOW);
    await admission.idle();
    expect(alerts.filter((e) => e.type === "budget.threshold")).toEqual([]);
    await ledger.flush(NOW);
    expect(alerts.filter((e) => e.type === "budget.threshold").map((e) => e.data.threshold_percent)).toEqual([
      50, 80,
    ]);
    expect(await admission.budgetStatus("key", "key_1", r.keyLimits, NOW)).toMatchObject({
      spent_usd: 0.00085,
      reserved_usd: 0,
    });
    expect((await admission.admit(r)).ok).toBe(true); // the slot was freed
  });

  it("Redis down: `local` counts in process, `closed` refuses as unavailable; budgets still hold", async () => {
    const local = await setup(down, "local");
    const r = { ...base, keyLimits: { rpm: 1, budget: budget(0.001) } };
    expect((await local.admission.admit(r)).ok).toBe(true);
    expect(await local.admission.admit(r)).toMatchObject({ ok: false, failed: { kind: "requests" } });
    expect(local.admission.health()).toMatchObject({
      shared: 0,
      degraded: true,
      rate_limits: "per process (redis unreachable)",
    });
    await db.close();
    await store.cleanup();

    const closed = await setup(down, "closed");
    expect(await closed.admission.admit(r)).toMatchObject({ ok: false, unavailable: "rate_limits" });
    const budgetOnly = { ...base, keyLimits: { budget: budget(0.0001) } };
    expect((await closed.admission.admit(budgetOnly)).ok).toBe(true);
    expect(await closed.admission.admit(budgetOnly)).toMatchObject({ ok: false, failed: { kind: "budget" } });
  });

  it("store unreachable for a budget: refused as unavailable, never admitted", async () => {
    const { admission } = await setup(null);
    await db.close();
    const r = { ...base, keyLimits: { budget: budget(1) } };
    expect(await admission.admit(r)).toMatchObject({ ok: false, unavailable: "budgets" });
    expect(admission.health()).toMatchObject({ shared: 0, rate_limits: "per process", budgets: "store" });
  });
});
