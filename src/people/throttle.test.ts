import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestStore, testDialects, type TestStore } from "../../test/support/harness.js";
import { ManualClock } from "../core/clock.js";
import { openDatabase, type Database } from "../store/database.js";
import { decideThrottle, LoginThrottle } from "./throttle.js";

const settings = { maxPerAccount: 3, maxPerIp: 5, windowMs: 60_000 };

describe("the throttle's rule", () => {
  it("refuses once max failures sit in the window, until the oldest of them leaves it", () => {
    expect(decideThrottle([1_000, 2_000], null, settings, 3_000)).toEqual({ allowed: true });
    expect(decideThrottle([1_000, 2_000, 3_000], null, settings, 4_000)).toEqual({
      allowed: false,
      retryAfterSeconds: 57,
    });
    expect(decideThrottle([], [1, 2, 3, 4, 5], settings, 10)).toEqual({
      allowed: false,
      retryAfterSeconds: 60,
    });
    expect(decideThrottle([], [1, 2, 3, 4], settings, 10)).toEqual({ allowed: true });
  });
});

describe.each(testDialects())("sign-in throttle in the store (%s)", (dialect) => {
  let dir: TestStore;
  let db: Database;
  beforeEach(async () => {
    dir = await createTestStore(dialect);
    db = await openDatabase({
      dataDir: dir.dataDir,
      ...(dir.databaseUrl ? { databaseUrl: dir.databaseUrl, pgSchema: dir.pgSchema! } : {}),
    });
  });
  afterEach(async () => {
    await db?.close();
    await dir?.cleanup();
  });

  it("refuses an account after N failures for the rest of the window, then allows again", async () => {
    const clock = new ManualClock(1_000_000);
    const t = new LoginThrottle(db, clock, { ...settings, maxPerIp: 100 });
    for (let i = 0; i < 3; i++) {
      expect((await t.check("a@x", "1.1.1.1")).allowed).toBe(true);
      await t.recordFailure("a@x", "1.1.1.1");
      clock.advance(1000);
    }
    expect(await t.check("a@x", "2.2.2.2")).toEqual({ allowed: false, retryAfterSeconds: 57 });
    expect((await t.check("b@x", "1.1.1.1")).allowed).toBe(true);
    clock.advance(57_000);
    expect((await t.check("a@x", "1.1.1.1")).allowed).toBe(true);
  });

  it("refuses an IP spraying many accounts", async () => {
    const t = new LoginThrottle(db, new ManualClock(0), { ...settings, maxPerAccount: 100 });
    for (let i = 0; i < 5; i++) await t.recordFailure(`u${i}@x`, "9.9.9.9");
    expect((await t.check("fresh@x", "9.9.9.9")).allowed).toBe(false);
    expect((await t.check("fresh@x", "8.8.8.8")).allowed).toBe(true);
  });

  it("two processes on one store count the same failures; subjects are stored hashed; old rows go", async () => {
    const clock = new ManualClock(0);
    const a = new LoginThrottle(db, clock, settings);
    const b = new LoginThrottle(db, clock, settings);
    await a.recordFailure("shared@x", "7.7.7.7");
    await b.recordFailure("shared@x", "7.7.7.7");
    await a.recordFailure("shared@x", "7.7.7.7");
    expect((await b.check("shared@x", null)).allowed).toBe(false);
    const rows = await db.db.selectFrom("login_failures").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain("shared@x");
    expect(JSON.stringify(rows)).not.toContain("7.7.7.7");
    await a.recordSuccess("shared@x");
    expect((await b.check("shared@x", null)).allowed).toBe(true);
    clock.advance(60_000);
    await a.recordFailure("other@x", null);
    const left = await db.db.selectFrom("login_failures").select("at").execute();
    expect(left.map((r) => Number(r.at))).toEqual([60_000]);
  });
});
