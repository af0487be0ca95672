import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import { openDatabase } from "../../src/store/database.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { createTestStore, testDialects, type TestStore } from "../support/harness.js";
import { freePort, KEYWARD_BIN as BIN, storeEnv } from "../support/processes.js";

const run = promisify(execFile);
const BURST = 10_000;
const CONCURRENCY = 64;

/**
 * Principle 4 end to end: the real server process, a burst of 10,000 gateway requests, SIGTERM
 * while requests are still in flight. Every request that was served has exactly one usage row,
 * and the metered tokens and cost equal what the upstream reported.
 */
describe.each(testDialects())("nothing accepted is lost across SIGTERM (%s)", (dialect) => {
  let mock: MockUpstream;
  let store: TestStore;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill("SIGKILL");
    await mock?.close();
    await store?.cleanup();
  });

  it("usage rows equal served requests after a 10,000-request burst and SIGTERM", async () => {
    mock = await startMockUpstream();
    store = await createTestStore(dialect);
    const env = {
      ...process.env,
      ...storeEnv(store),
      KEYWARD_UPSTREAM_BASE_URL: mock.url,
      KEYWARD_UPSTREAM_API_KEY: "sk-test-provider-key",
      KEYWARD_LOG_LEVEL: "warn",
    };
    const init = JSON.parse((await run("node", [BIN, "init", "--json"], { env })).stdout) as {
      admin_key: string;
    };
    const port = await freePort();
    child = spawn("node", [BIN, "serve", "--port", String(port)], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status, { timeout: 15_000 })
      .toBe(200);

    const admin = new KeywardClient(url, init.admin_key);
    const project = await admin.createProject({ name: "burst" });
    const { key } = await admin.createKey(project.id, { name: "burst" });

    const pool = new Pool(url, { connections: CONCURRENCY });
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "count me" }] });
    let sent = 0;
    let served = 0;
    let promptSum = 0;
    let completionSum = 0;
    let terminated = false;
    const worker = async () => {
      while (sent < BURST) {
        sent++;
        if (!terminated && sent >= BURST * 0.9) {
          // Pull the plug while the last tenth is still going.
          terminated = true;
          child!.kill("SIGTERM");
        }
        try {
          const res = await pool.request({
            path: "/v1/chat/completions",
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body,
          });
          const text = await res.body.text();
          if (res.statusCode === 200) {
            const usage = (
              JSON.parse(text) as { usage: { prompt_tokens: number; completion_tokens: number } }
            ).usage;
            served++;
            promptSum += usage.prompt_tokens;
            completionSum += usage.completion_tokens;
          }
        } catch {
          // Refused after SIGTERM: not served, so not metered.
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pool.close();
    expect(await exited, stderr).toBe(0);
    expect(served).toBeGreaterThan(BURST * 0.85);

    const db = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    try {
      const totals = await db.db
        .selectFrom("usage_events")
        .select((eb) => [
          eb.fn.countAll<number>().as("rows"),
          eb.fn.sum<number>("prompt_tokens").as("prompt"),
          eb.fn.sum<number>("completion_tokens").as("completion"),
          eb.fn.sum<number>("cost_micros").as("cost"),
        ])
        .where("status", "=", 200)
        .executeTakeFirstOrThrow();
      expect(Number(totals.rows)).toBe(served);
      expect(Number(totals.prompt)).toBe(promptSum);
      expect(Number(totals.completion)).toBe(completionSum);
      // gpt-4o-mini: 0.15 in / 0.60 out per 1M tokens; rounded per request.
      const perRequest = Math.round((promptSum / served) * 0.15 + (completionSum / served) * 0.6);
      expect(Number(totals.cost)).toBe(perRequest * served);
    } finally {
      await db.close();
    }
  }, 120_000);
});
