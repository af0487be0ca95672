import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { ManualClock } from "../core/clock.js";
import { createSecretHasher } from "../core/hashing.js";
import { openDatabase, type Database } from "../store/database.js";
import { SessionService } from "./sessions.js";

const HOUR = 3_600_000;

describe("SessionService (SQLite)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "keyward-sessions-"));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let store: Database;
  let sessions: SessionService;
  const origin = { ip: "10.0.0.1", userAgent: "test" };

  const start = async (userId: string) =>
    store.db
      .transaction()
      .execute((tx) => sessions.startInTx(tx, SYSTEM_ACTOR, userId, "password", clock.now()));

  beforeAll(async () => {
    store = await openDatabase({ dataDir: dir });
    sessions = new SessionService(store, clock, createSecretHasher(undefined), {
      idleTimeoutMs: 12 * HOUR,
      maxAgeMs: 7 * 24 * HOUR,
    });
    for (const id of ["usr_a", "usr_b"])
      await store.db
        .insertInto("users")
        .values({
          id,
          email: `${id}@example.com`,
          display_name: id,
          role: "member",
          projects: JSON.stringify(["proj_x"]),
          password_hash: "$argon2id$unused",
          created_at: clock.now(),
          created_by: "system",
          updated_at: clock.now(),
          disabled_at: null,
        })
        .execute();
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores only the token's hash and resolves the token to the user, projects included", async () => {
    const s = await start("usr_a");
    const row = await store.db
      .selectFrom("sessions")
      .selectAll()
      .where("id", "=", s.sessionId)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(s.token);
    const p = await sessions.authenticate(s.token, origin);
    expect(p?.principal).toMatchObject({ id: "usr_a", role: "member", projects: ["proj_x"], ip: "10.0.0.1" });
    expect(
      await sessions.authenticate(s.token.slice(0, -1) + (s.token.endsWith("A") ? "B" : "A"), origin),
    ).toBeNull();
    expect(await sessions.authenticate("short", origin)).toBeNull();
  });

  it("ends after the idle timeout, and at the absolute end however much it is used", async () => {
    const idle = await start("usr_a");
    clock.advance(12 * HOUR);
    expect(await sessions.authenticate(idle.token, origin)).toBeNull();

    const busy = await start("usr_a");
    let alive = 0;
    for (let h = 6; h < 7 * 24; h += 6) {
      clock.advance(6 * HOUR);
      if (await sessions.authenticate(busy.token, origin)) alive++;
    }
    expect(alive).toBe(27); // every 6 h for 7 days, the last touch before the 168th hour
    clock.advance(6 * HOUR);
    expect(await sessions.authenticate(busy.token, origin)).toBeNull();
  });

  it("a disabled user's sessions stop at once; endAll spares only the one kept", async () => {
    const one = await start("usr_b");
    const two = await start("usr_b");
    expect(
      await store.db.transaction().execute((tx) => sessions.endAllInTx(tx, "usr_b", two.sessionId)),
    ).toBe(1);
    expect(await sessions.authenticate(one.token, origin)).toBeNull();
    expect(await sessions.authenticate(two.token, origin)).not.toBeNull();
    await store.db.updateTable("users").set({ disabled_at: clock.now() }).where("id", "=", "usr_b").execute();
    expect(await sessions.authenticate(two.token, origin)).toBeNull();
  });
});
