import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

/** Tampering with any audit row (edit, delete, insert, reorder, truncate) is detected and located. */
describe.each(testDialects())("audit tamper detection (%s)", (dialect) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer(dialect, { logLevel: "warn" });
    const p = await t.client.createProject({ name: "audited" });
    for (let i = 0; i < 8; i++) {
      const k = await t.client.createKey(p.id, { name: `k${i}` });
      await t.client.updateKey(k.id, { name: `k${i}-renamed` });
    }
    expect((await t.client.verifyAudit()).ok).toBe(true);
  });
  afterEach(async () => t?.stop());

  const db = () => t.ctx.store.db;

  it("detects an edited entry and says which", async () => {
    await db().updateTable("audit_log").set({ actor_id: "adm_someone_else" }).where("seq", "=", 5).execute();
    const r = await t.client.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.issues).toContainEqual(expect.objectContaining({ seq: 5, problem: "hash_mismatch" }));
  });

  it("detects an edited changes payload", async () => {
    await db()
      .updateTable("audit_log")
      .set({ changes: '{"after":{"name":"innocent"}}' })
      .where("seq", "=", 7)
      .execute();
    const r = await t.client.verifyAudit();
    expect(r.issues).toContainEqual(expect.objectContaining({ seq: 7, problem: "hash_mismatch" }));
  });

  it("detects a deleted entry", async () => {
    await db().deleteFrom("audit_log").where("seq", "=", 6).execute();
    const r = await t.client.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.issues).toContainEqual(expect.objectContaining({ seq: 7, problem: "broken_link" }));
    expect(r.issues).toContainEqual(expect.objectContaining({ seq: 7, problem: "sequence_gap" }));
  });

  it("detects reordered entries (two rows' positions swapped)", async () => {
    await db().updateTable("audit_log").set({ seq: -1 }).where("seq", "=", 4).execute();
    await db().updateTable("audit_log").set({ seq: 4 }).where("seq", "=", 5).execute();
    await db().updateTable("audit_log").set({ seq: 5 }).where("seq", "=", -1).execute();
    const r = await t.client.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.issues.map((i) => i.seq)).toEqual(expect.arrayContaining([4, 5]));
  });

  it("detects an inserted entry, even one with a correctly computed hash", async () => {
    const row = await db().selectFrom("audit_log").selectAll().where("seq", "=", 3).executeTakeFirstOrThrow();
    // Shift the tail up by one and forge an entry at seq 4 that chains from entry 3.
    await sql`update audit_log set seq = seq + 1000 where seq > 3`.execute(db());
    await sql`update audit_log set seq = seq - 999 where seq > 1000`.execute(db());
    const { chainHash } = await import("../../src/audit/chain.js");
    const forged = { ...row, seq: 4, id: "aud_forged", action: "key.created", prev_hash: row.hash };
    await db()
      .insertInto("audit_log")
      .values({ ...forged, hash: chainHash(row.hash, forged) })
      .execute();
    const r = await t.client.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.issues).toContainEqual(expect.objectContaining({ seq: 5, problem: "broken_link" }));
  });

  it("detects a truncated tail through the head record", async () => {
    const last = await db()
      .selectFrom("audit_log")
      .select("seq")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    await db().deleteFrom("audit_log").where("seq", "=", last.seq).execute();
    const r = await t.client.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.issues).toContainEqual(expect.objectContaining({ problem: "head_mismatch" }));
  });
});
