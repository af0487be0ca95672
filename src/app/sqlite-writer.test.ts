import { readdirSync } from "node:fs";
import { getPriority } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../store/database.js";
import { createTestStore, type TestStore } from "../../test/support/harness.js";
import { usageEvent } from "../../test/support/usage-event.js";
import { SqliteWriterThread } from "./sqlite-writer.js";

/** The nice value of every thread of this process, by thread id. */
function threadNiceness(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task").map(Number)) {
    try {
      out.set(tid, getPriority(tid));
    } catch {
      // the thread ended between listing and asking
    }
  }
  return out;
}

describe.runIf(process.platform === "linux")("SqliteWriterThread", () => {
  let store: TestStore;
  let database: Database;
  let thread: SqliteWriterThread | undefined;

  beforeAll(async () => {
    store = await createTestStore("sqlite");
    database = await openDatabase({ dataDir: store.dataDir });
  });
  afterAll(async () => {
    await thread?.close();
    await database?.close();
    await store?.cleanup();
  });

  it("writes at the lowest CPU priority, in its own thread only", async () => {
    const before = threadNiceness();
    thread = new SqliteWriterThread(database.location);
    await thread.write([
      usageEvent({ requestId: "req_nice_1", ts: Date.now(), keyId: "key_1", projectId: "proj_1" }),
    ]);
    const after = threadNiceness();
    const lowered = [...after].filter(([tid, nice]) => nice === 19 && !before.has(tid));
    expect(lowered).toHaveLength(1);
    // Every thread that was there before (the event loop serving requests among them) kept its priority.
    for (const [tid, nice] of before) if (after.has(tid)) expect(after.get(tid)).toBe(nice);
    const rows = await database.db.selectFrom("usage_events").select("request_id").execute();
    expect(rows.map((r) => r.request_id)).toEqual(["req_nice_1"]);
  });
});
