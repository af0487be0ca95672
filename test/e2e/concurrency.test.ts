import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

async function auditCount(t: TestServer): Promise<number> {
  const r = await t.ctx.store.db
    .selectFrom("audit_log")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(testDialects())("concurrent changes keep the audit chain whole (%s)", (dialect) => {
  let t: TestServer;
  let projectId: string;
  beforeAll(async () => {
    t = await startTestServer(dialect, { logLevel: "warn" });
    projectId = (await t.client.createProject({ name: "busy" })).id;
  });
  afterAll(async () => t?.stop());

  it("100 concurrent creates/rotates/revokes lose no audit entry and break no chain", async () => {
    const seed = await Promise.all(
      Array.from({ length: 60 }, (_, i) => t.client.createKey(projectId, { name: `seed-${i}` })),
    );
    const before = await auditCount(t);
    const ops: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) ops.push(t.client.createKey(projectId, { name: `new-${i}` }));
    for (let i = 0; i < 30; i++) ops.push(t.client.rotateKey(seed[i]!.id, i % 2 ? 0 : 600));
    for (let i = 30; i < 60; i++) ops.push(t.client.revokeKey(seed[i]!.id, "concurrency test"));
    const results = await Promise.allSettled(ops);
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(await auditCount(t)).toBe(before + 100);
    const report = await t.client.verifyAudit();
    expect(report).toMatchObject({ ok: true, issues: [] });
    expect(report.head_seq).toBe(report.entries);
  });

  it("racing rotate and revoke on the same keys: every success is audited exactly once", async () => {
    const keys = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.client.createKey(projectId, { name: `race-${i}` })),
    );
    const before = await auditCount(t);
    const ops = keys.flatMap((k) => [
      t.client.rotateKey(k.id, 0),
      t.client.revokeKey(k.id),
      t.client.rotateKey(k.id, 30),
    ]);
    const results = await Promise.allSettled(ops);
    const ok = results.filter((r) => r.status === "fulfilled").length;
    // A rotate that loses to the revoke gets 409 and writes nothing; each revoke succeeds once.
    for (const r of results)
      if (r.status === "rejected") expect((r.reason as { status: number }).status).toBe(409);
    expect(await auditCount(t)).toBe(before + ok);
    for (const k of keys) expect((await t.client.verifyKey({ key: k.key })).valid).toBe(false);
    expect((await t.client.verifyAudit()).ok).toBe(true);
  });

  it("10 concurrent rotates with one Idempotency-Key rotate once and all get the same secret", async () => {
    const k = await t.client.createKey(projectId, { name: "idem-race" });
    const before = await auditCount(t);
    const idem = "rotate-race-" + k.id;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => t.client.rotateKey(k.id, 0, idem)),
    );
    const secrets = new Set(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.key] : [])));
    for (const r of results)
      if (r.status === "rejected")
        expect((r.reason as { code: string }).code).toBe("idempotency_in_progress");
    expect(secrets.size).toBe(1);
    expect(await auditCount(t)).toBe(before + 1);
    const [secret] = [...secrets];
    expect((await t.client.verifyKey({ key: secret! })).code).toBe("VALID");
  });
});
