import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import { openDatabase, type Database } from "../../src/store/database.js";
import { createTestStore, testDialects, testRedisUrl, type TestStore } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { freePort, KEYWARD_BIN, storeEnv } from "../support/processes.js";

const run = promisify(execFile);
const redisUrl = testRedisUrl();
const CONCURRENCY = 32;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("serve --workers refuses what it cannot keep", () => {
  it("without KEYWARD_REDIS_URL, more than one worker is a usage error naming the fix", async () => {
    const store = await createTestStore("sqlite");
    try {
      const env = { ...process.env, ...storeEnv(store), KEYWARD_REDIS_URL: "" };
      const failed = await run("node", [KEYWARD_BIN, "serve", "--workers", "2", "--port", "0"], {
        env,
      }).catch((err: { code: number; stderr: string }) => err);
      expect(failed).toMatchObject({ code: 2 });
      expect((failed as { stderr: string }).stderr).toContain("--workers 2 needs KEYWARD_REDIS_URL");
    } finally {
      await store.cleanup();
    }
  });

  it("a value that is not a count or auto is refused before anything starts", async () => {
    const failed = await run("node", [KEYWARD_BIN, "serve", "--workers", "two"]).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('invalid --workers "two"');
  });
});

/**
 * Two workers on one port, sharing the store and Redis: both serve, a worker killed with
 * SIGKILL is replaced while traffic continues, and SIGTERM to the primary drains every worker
 * with each served request metered exactly once.
 */
describe.skipIf(!redisUrl).each(testDialects())("serve --workers 2 (%s + Redis)", (dialect) => {
  let mock: MockUpstream;
  let store: TestStore;
  let primary: ChildProcess | undefined;
  let db: Database | undefined;
  afterAll(async () => {
    primary?.kill("SIGKILL");
    await db?.close();
    await mock?.close();
    await store?.cleanup();
  });

  it("serves from both, replaces a killed worker, and meters every served request on SIGTERM", async () => {
    mock = await startMockUpstream();
    store = await createTestStore(dialect);
    const env = {
      ...process.env,
      ...storeEnv(store),
      KEYWARD_REDIS_URL: redisUrl!,
      KEYWARD_UPSTREAM_BASE_URL: mock.url,
      KEYWARD_UPSTREAM_API_KEY: "sk-test-provider-key",
      KEYWARD_LOG_LEVEL: "warn",
      KEYWARD_HEAP_TUNING: "false",
    };
    const init = JSON.parse((await run("node", [KEYWARD_BIN, "init", "--json"], { env })).stdout) as {
      admin_key: string;
    };
    const port = await freePort();
    primary = spawn("node", [KEYWARD_BIN, "serve", "--workers", "2", "--port", String(port)], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    primary.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    primary.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => primary!.on("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    db = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    const workerPids = async () =>
      (await db!.db.selectFrom("replicas").select("pid").execute())
        .map((r) => Number(r.pid))
        .filter(alive)
        .sort();
    await expect.poll(workerPids, { timeout: 20_000 }).toHaveLength(2);
    const [victim] = await workerPids();

    const admin = new KeywardClient(url, init.admin_key);
    const project = await admin.createProject({ name: "workers" });
    // A request stuck on a dead worker counts as failed instead of stalling the test.
    const pool = new Pool(url, { connections: CONCURRENCY, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const burst = async (key: string, total: number, during: (sent: number) => void) => {
      let sent = 0;
      let served = 0;
      let failed = 0;
      const servedIds: string[] = [];
      const one = async () => {
        while (sent < total) {
          during(++sent);
          try {
            const res = await pool.request({
              path: "/v1/chat/completions",
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
              body,
            });
            await res.body.text();
            if (res.statusCode === 200) {
              served++;
              servedIds.push(String(res.headers["x-request-id"]));
            } else failed++;
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, one));
      return { served, failed, servedIds };
    };
    /** Of these request ids, the ones with no usage row. */
    const unmetered = async (ids: string[]) => {
      const metered = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db!.db
          .selectFrom("usage_events")
          .select("request_id")
          .where("request_id", "in", ids.slice(i, i + 500))
          .execute();
        for (const r of rows) metered.add(r.request_id);
      }
      return ids.filter((id) => !metered.has(id));
    };

    // A worker dies mid-burst: the other keeps serving and the primary starts a replacement.
    const first = await admin.createKey(project.id, { name: "kill" });
    const killed = await burst(first.key, 2_000, (sent) => {
      if (sent === 500) process.kill(victim!, "SIGKILL");
    });
    expect(killed.served).toBeGreaterThan(1_500);
    // Every answer the client received whole is metered, even those of the worker killed
    // mid-flight: on PostgreSQL its event was committed before the answer ended (usage.durable
    // is on with Redis); on SQLite it was in the primary's hands, which commits it within the
    // flush interval (src/server/usage-handoff.ts).
    await expect.poll(() => unmetered(killed.servedIds), { timeout: 5_000 }).toEqual([]);
    await expect
      .poll(async () => (await workerPids()).filter((pid) => pid !== victim), { timeout: 20_000 })
      .toHaveLength(2);

    // SIGTERM to the primary while a burst runs: every request that got a 200 is metered once.
    const second = await admin.createKey(project.id, { name: "drain" });
    let terminated = false;
    const drained = await burst(second.key, 3_000, (sent) => {
      if (!terminated && sent >= 2_500) {
        terminated = true;
        primary!.kill("SIGTERM");
      }
    });
    await pool.close();
    expect(await exited, output).toBe(0);
    expect(drained.served).toBeGreaterThan(2_000);
    const rows = await db.db
      .selectFrom("usage_events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("key_id", "=", second.id)
      .where("status", "=", 200)
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(drained.served);
    console.info(
      `[workers ${dialect}] kill -9 burst: ${killed.served} served and metered, ${killed.failed} failed; ` +
        `SIGTERM burst: ${drained.served} served and metered, ${drained.failed} refused`,
    );
  }, 120_000);
});
