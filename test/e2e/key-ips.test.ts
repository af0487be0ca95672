import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/store/database.js";
import type { DB } from "../../src/store/schema.js";
import { createTestStore, storeBefore, testDialects, type TestStore } from "../support/harness.js";
import { directBatchWriter, toRow, type UsageBatchWriter } from "../../src/usage/batch-writer.js";
import { SqliteWriterThread } from "../../src/app/sqlite-writer.js";
import type { UsageEvent } from "../../src/usage/types.js";
import { usageEvent } from "../support/usage-event.js";

/**
 * key_ips is maintained by the usage writer, in the transaction that records the raw events
 * (on SQLite in the writer thread, as in production): a pair is recorded with the batch's events
 * or not at all, and only for events actually inserted, so a re-sent batch adds nothing.
 */

const T0 = Date.UTC(2026, 2, 1, 12);
const event = (requestId: string, keyId: string, clientIp: string | null, ts: number): UsageEvent =>
  usageEvent({ requestId, ts, keyId, projectId: "proj_1", clientIp });

async function keyIps(db: Kysely<DB>) {
  const rows = await db.selectFrom("key_ips").selectAll().orderBy("key_id").orderBy("ip").execute();
  return rows.map((r) => ({ ...r, first_seen_at: Number(r.first_seen_at) }));
}

async function count(db: Kysely<DB>, table: "usage_events" | "usage_key_hourly"): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(testDialects())("key_ips kept by the usage writer (%s)", (dialect) => {
  let store: TestStore;
  let database: Database;
  let db: Kysely<DB>;
  let writer: UsageBatchWriter;
  let thread: SqliteWriterThread | null = null;

  beforeAll(async () => {
    store = await createTestStore(dialect);
    database = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    db = database.db;
    thread = dialect === "sqlite" ? new SqliteWriterThread(database.location) : null;
    writer = thread ?? directBatchWriter(db);
  });
  afterAll(async () => {
    await thread?.close();
    await database?.close();
    await store?.cleanup();
  });
  beforeEach(async () => {
    for (const t of ["usage_events", "usage_key_hourly", "usage_key_daily", "key_ips"] as const)
      await db.deleteFrom(t).execute();
  });

  it("records each batch's new (key, IP) pairs with their first time; a re-sent batch adds nothing", async () => {
    const batch = [
      event("r1", "key_a", "10.0.0.1", T0 + 5),
      event("r2", "key_a", "10.0.0.1", T0 + 2),
      event("r3", "key_b", "2001:db8::1", T0 + 9),
      event("r4", "key_b", null, T0),
    ];
    await writer.write(batch);
    const first = [
      { key_id: "key_a", ip: "10.0.0.1", first_seen_at: T0 + 2 },
      { key_id: "key_b", ip: "2001:db8::1", first_seen_at: T0 + 9 },
    ];
    expect(await keyIps(db)).toEqual(first);

    // A later sighting keeps the first time; a new IP is added.
    await writer.write([
      event("r5", "key_a", "10.0.0.1", T0 + 100),
      event("r6", "key_a", "10.0.0.7", T0 + 100),
    ]);
    expect(await keyIps(db)).toEqual([
      first[0],
      { key_id: "key_a", ip: "10.0.0.7", first_seen_at: T0 + 100 },
      first[1],
    ]);

    // Re-sent events (a retried flush, even with other content) are not new sightings: with
    // key_ips emptied, writing them again must leave it empty.
    await db.deleteFrom("key_ips").execute();
    await writer.write([...batch, event("r6", "key_c", "192.0.2.1", T0 + 1)]); // r6 was key_a's
    expect(await keyIps(db)).toEqual([]);
    expect(await count(db, "usage_events")).toBe(6);
  });

  it("writes key_ips in the batch's transaction: a failing key_ips insert records nothing", async () => {
    // A trigger that refuses one IP makes the key_ips insert, the batch's last write, fail.
    if (dialect === "sqlite")
      await sql`create trigger boom before insert on key_ips when new.ip = '192.0.2.66'
        begin select raise(abort, 'boom'); end`.execute(db);
    else {
      await sql`create function boom() returns trigger language plpgsql as $$
        begin raise exception 'boom'; end $$`.execute(db);
      await sql`create trigger boom before insert on key_ips for each row
        when (new.ip = '192.0.2.66') execute function boom()`.execute(db);
    }
    const batch = [event("b1", "key_a", "10.0.0.1", T0), event("b2", "key_a", "192.0.2.66", T0 + 1)];
    await expect(writer.write(batch)).rejects.toThrow(/boom/);
    expect(await count(db, "usage_events")).toBe(0);
    expect(await count(db, "usage_key_hourly")).toBe(0);
    expect(await keyIps(db)).toEqual([]);

    await sql`drop trigger boom ${dialect === "postgres" ? sql`on key_ips` : sql``}`.execute(db);
    await writer.write(batch);
    expect(await count(db, "usage_events")).toBe(2);
    expect(await keyIps(db)).toEqual([
      { key_id: "key_a", ip: "10.0.0.1", first_seen_at: T0 },
      { key_id: "key_a", ip: "192.0.2.66", first_seen_at: T0 + 1 },
    ]);
  });
});

describe.each(testDialects())("upgrading to key_ips at write time (%s)", (dialect) => {
  it("copies the pairs the old sweep's cursor had not reached yet", async () => {
    const old = await createTestStore(dialect);
    try {
      const legacy = await storeBefore(old, "0007_key_ips_at_write");
      // The old sweep last ran at T0: it had copied what came before (less its 10-minute overlap).
      const cursor = T0;
      await legacy
        .updateTable("alert_state")
        .set({ value: cursor })
        .where("name", "=", "usage_ip_ts")
        .execute();
      await legacy
        .insertInto("key_ips")
        .values({ key_id: "key_a", ip: "10.0.0.1", first_seen_at: T0 - 3_600_000 })
        .execute();
      const rows = [
        event("o1", "key_a", "10.0.0.1", T0 - 3_600_000),
        event("o2", "key_a", "10.0.0.9", T0 - 3_600_000), // long before the cursor: the old sweep's to keep
        event("o3", "key_a", "10.0.0.1", T0 + 1_000),
        event("o4", "key_b", "10.0.0.2", T0 + 30_000),
        event("o5", "key_b", "10.0.0.2", T0 - 60_000), // within the overlap: the earliest sighting
        event("o6", "key_b", null, T0 + 40_000),
      ];
      await legacy.insertInto("usage_events").values(rows.map(toRow)).execute();
      await legacy.destroy();

      const upgraded = await openDatabase({
        dataDir: old.dataDir,
        ...(old.databaseUrl ? { databaseUrl: old.databaseUrl, pgSchema: old.pgSchema! } : {}),
      });
      try {
        expect(await keyIps(upgraded.db)).toEqual([
          { key_id: "key_a", ip: "10.0.0.1", first_seen_at: T0 - 3_600_000 },
          { key_id: "key_b", ip: "10.0.0.2", first_seen_at: T0 - 60_000 },
        ]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await old.cleanup();
    }
  });
});
