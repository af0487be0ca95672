import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import type { AppContext } from "../../src/app/context.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  createTestStore,
  startReplica,
  testDialects,
  testRedisUrl,
  type LogCapture,
  type TestStore,
} from "../support/harness.js";

/**
 * Replicas sharing one store: a change made through any of them reaches every replica's verify
 * cache at once (PostgreSQL NOTIFY; Redis pub/sub for processes sharing a SQLite file), and a
 * replica that cannot hear the others stops caching instead of serving a revoked key.
 */

interface Replica {
  ctx: AppContext;
  server: RunningServer;
  logs: LogCapture;
}

const REVOCATIONS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Polls until `replica` refuses `key`; returns when it did (ms since `since`). */
async function refusedAfter(replica: Replica, key: string, since: number): Promise<number> {
  for (;;) {
    const r = await replica.ctx.verifier.verify({ key });
    if (r.code !== "VALID") return performance.now() - since;
    if (performance.now() - since > 5_000) throw new Error("still accepted 5 s after the revocation");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits until every replica listens to the others (beforeAll cannot use expect.poll). */
async function allHearing(replicas: Replica[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!replicas.every((r) => r.ctx.invalidation.healthy)) {
    if (Date.now() > deadline) throw new Error("replicas did not start listening within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function cluster(
  name: string,
  setup: () => Promise<{ store: TestStore; config: Record<string, unknown> } | null>,
) {
  describe(name, () => {
    let store: TestStore | null = null;
    let shared = false;
    const replicas: Replica[] = [];
    let clients: KeywardClient[] = [];
    let projectId = "";

    beforeAll(async () => {
      const s = await setup();
      if (!s) return;
      store = s.store;
      shared = Boolean(s.config.redisUrl);
      // A long cache TTL: only invalidation can explain a refusal within the test.
      const options = { logLevel: "warn", config: { keyCacheTtlMs: 600_000, ...s.config } };
      for (let i = 0; i < 3; i++) replicas.push(await startReplica(store, options));
      const boot = await replicas[0]!.ctx.admins.bootstrap();
      clients = replicas.map((r) => new KeywardClient(r.server.url, boot!.key));
      projectId = (await clients[0]!.createProject({ name: "replicated" })).id;
      await allHearing(replicas);
    });
    afterAll(async () => {
      for (const r of replicas) await r.server.close();
      await store?.cleanup();
    });

    it(`a key revoked through one replica is refused by the others at once (${REVOCATIONS} revocations)`, async () => {
      if (!store) return;
      const latencies: number[] = [];
      for (let i = 0; i < REVOCATIONS; i++) {
        const via = i % 3;
        const created = await clients[via]!.createKey(projectId, { name: `k${i}` });
        const others = replicas.filter((_, j) => j !== via);
        for (const r of others) {
          expect((await r.ctx.verifier.verify({ key: created.key })).code).toBe("VALID");
          const hits = r.ctx.keyCache.hits;
          expect((await r.ctx.verifier.verify({ key: created.key })).code).toBe("VALID");
          expect(r.ctx.keyCache.hits).toBe(hits + 1); // served from the cache: it must be invalidated
        }
        await clients[via]!.revokeKey(created.id);
        const answered = performance.now();
        const each = await Promise.all(others.map((r) => refusedAfter(r, created.key, answered)));
        latencies.push(Math.max(...each));
      }
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      console.log(
        `[${name}] revoke → last replica refusing, over ${REVOCATIONS}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
      );
      expect(latencies.at(-1)!).toBeLessThan(1_000);
    });

    it("each replica says at start-up what is still per replica (nothing, with Redis)", () => {
      if (!store) return;
      const warning = "another keyward process serves from this store";
      const perReplica = "rate limits and concurrency limits are counted per replica";
      expect(replicas[0]!.logs.text).not.toContain(warning); // it started alone
      for (const r of replicas.slice(1)) {
        if (shared) {
          // Logged at info (below this test's warn level): nothing is left to warn about.
          expect(r.logs.text).not.toContain(warning);
        } else {
          expect(r.logs.text).toContain(warning);
          expect(r.logs.text).toContain(perReplica);
          expect(r.logs.text).not.toContain("budgets are counted");
        }
      }
    });

    it("disable and a limit change reach the other replicas' caches too", async () => {
      if (!store) return;
      const created = await clients[0]!.createKey(projectId, {
        name: "changed",
        allowed_models: ["gpt-4o-mini"],
      });
      const other = replicas[2]!;
      expect((await other.ctx.verifier.verify({ key: created.key, models: ["gpt-4o"] })).code).toBe(
        "FORBIDDEN",
      );
      await clients[1]!.updateKey(created.id, { allowed_models: ["gpt-4o", "gpt-4o-mini"] });
      await expect
        .poll(async () => (await other.ctx.verifier.verify({ key: created.key, models: ["gpt-4o"] })).code, {
          timeout: 1_000,
          interval: 5,
        })
        .toBe("VALID");
      await clients[1]!.disableKey(created.id);
      await expect
        .poll(async () => (await other.ctx.verifier.verify({ key: created.key })).code, {
          timeout: 1_000,
          interval: 5,
        })
        .toBe("DISABLED");
    });
  });
}

const dialects = testDialects();
if (dialects.includes("postgres")) {
  cluster("three replicas on PostgreSQL (NOTIFY, no Redis)", async () => ({
    store: await createTestStore("postgres"),
    config: {},
  }));

  describe("a replica that loses its NOTIFY connection", () => {
    let store: TestStore;
    const replicas: Replica[] = [];
    let client: KeywardClient;

    beforeAll(async () => {
      store = await createTestStore("postgres");
      for (let i = 0; i < 2; i++)
        replicas.push(await startReplica(store, { logLevel: "warn", config: { keyCacheTtlMs: 600_000 } }));
      const boot = await replicas[0]!.ctx.admins.bootstrap();
      client = new KeywardClient(replicas[0]!.server.url, boot!.key);
      await allHearing(replicas);
    });
    afterAll(async () => {
      for (const r of replicas) await r.server.close();
      await store?.cleanup();
    });

    it("stops caching while it cannot hear (never serves a key revoked meanwhile), then reconnects by itself", async () => {
      const projectId = (await client.createProject({ name: "outage" })).id;
      const created = await client.createKey(projectId, { name: "cached" });
      const b = replicas[1]!;
      expect((await b.ctx.verifier.verify({ key: created.key })).code).toBe("VALID");
      expect(b.ctx.keyCache.size).toBeGreaterThan(0);

      // Cut every LISTEN session of this data set from the server side.
      const admin = new pg.Client({ connectionString: store.databaseUrl });
      await admin.connect();
      const killed = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where query like 'LISTEN keyward_invalidate_%'",
      );
      await admin.end();
      expect(killed.rowCount).toBeGreaterThanOrEqual(2);
      await expect.poll(() => b.ctx.keyCache.isSuspended, { timeout: 2_000, interval: 5 }).toBe(true);
      const health = (await (await fetch(`${b.server.url}/healthz`)).json()) as {
        status: string;
        cluster: { listening: boolean; reason?: string };
      };
      // (Unless it has reconnected already: the back-off starts at 100 ms.)
      if (!b.ctx.invalidation.healthy) {
        expect(health.status).toBe("degraded");
        expect(health.cluster.reason).toContain("verify cache off");
      }

      // Whether or not a NOTIFY gets through, b re-reads the store: the revocation holds.
      await client.revokeKey(created.id);
      expect((await b.ctx.verifier.verify({ key: created.key })).code).toBe("REVOKED");

      await expect.poll(() => b.ctx.invalidation.healthy, { timeout: 10_000 }).toBe(true);
      expect(b.ctx.keyCache.isSuspended).toBe(false);
      expect(await (await fetch(`${b.server.url}/healthz`)).json()).toMatchObject({
        status: "ok",
        cluster: { channel: "postgres", listening: true },
      });
      expect(await (await fetch(`${b.server.url}/metrics`)).text()).toMatch(/^keyward_cluster_listening 1$/m);
      const next = await client.createKey(projectId, { name: "after" });
      expect((await b.ctx.verifier.verify({ key: next.key })).code).toBe("VALID");
      await client.revokeKey(next.id);
      await expect
        .poll(async () => (await b.ctx.verifier.verify({ key: next.key })).code, {
          timeout: 1_000,
          interval: 5,
        })
        .toBe("REVOKED");
    });
  });
}

const redisUrl = testRedisUrl();
if (redisUrl) {
  cluster("three processes on one SQLite file (Redis pub/sub)", async () => ({
    store: await createTestStore("sqlite"),
    config: { redisUrl },
  }));
}
