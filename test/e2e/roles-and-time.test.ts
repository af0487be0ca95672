import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeywardClient } from "../../src/client/client.js";
import { ManualClock } from "../../src/core/clock.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

describe.each(testDialects())("roles, idempotency and time (%s)", (dialect) => {
  let t: TestServer;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  let projectId: string;
  const as: Record<string, KeywardClient> = {};

  beforeAll(async () => {
    t = await startTestServer(dialect, { clock, logLevel: "warn" });
    projectId = (await t.client.createProject({ name: "roles" })).id;
    for (const role of ["admin", "member", "reader"] as const) {
      const a = await t.client.createAdminKey({ name: role, role });
      as[role] = new KeywardClient(t.url, a.key);
    }
    const m2 = await t.client.createAdminKey({ name: "member2", role: "member" });
    as.member2 = new KeywardClient(t.url, m2.key);
  });
  afterAll(async () => t?.stop());

  it("reader reads but cannot create or manage", async () => {
    const k = await t.client.createKey(projectId, { name: "owned-by-owner" });
    await expect(as.reader!.listKeys()).resolves.toMatchObject({ object: "list" });
    await expect(as.reader!.listAudit()).resolves.toMatchObject({ object: "list" });
    await expect(as.reader!.createKey(projectId, { name: "x" })).rejects.toMatchObject({
      status: 403,
      code: "forbidden",
    });
    await expect(as.reader!.revokeKey(k.id)).rejects.toMatchObject({ status: 403 });
    await expect(as.reader!.createProject({ name: "nope" })).rejects.toMatchObject({ status: 403 });
    expect((await as.reader!.verifyKey({ key: k.key })).code).toBe("VALID");
  });

  it("member manages only the keys it created, and cannot read the audit log", async () => {
    const mine = await as.member!.createKey(projectId, { name: "member-key" });
    const theirs = await as.member2!.createKey(projectId, { name: "member2-key" });
    await expect(as.member!.rotateKey(mine.id, 0)).resolves.toMatchObject({ id: mine.id });
    await expect(as.member!.revokeKey(theirs.id)).rejects.toMatchObject({ status: 403, code: "forbidden" });
    await expect(as.member!.updateKey(theirs.id, { name: "hijack" })).rejects.toMatchObject({ status: 403 });
    await expect(as.member!.listAudit()).rejects.toMatchObject({ status: 403 });
    await expect(as.member!.createAdminKey({ name: "x", role: "reader" })).rejects.toMatchObject({
      status: 403,
    });
    await expect(t.client.revokeKey(theirs.id)).resolves.toMatchObject({ status: "revoked" });
  });

  it("admin may not mint or revoke owner keys; the last owner cannot be revoked", async () => {
    await expect(as.admin!.createAdminKey({ name: "o2", role: "owner" })).rejects.toMatchObject({
      status: 403,
    });
    await expect(as.admin!.createAdminKey({ name: "r2", role: "reader" })).resolves.toMatchObject({
      role: "reader",
    });
    const me = await t.client.me();
    await expect(as.admin!.revokeAdminKey(me.id)).rejects.toMatchObject({ status: 403 });
    await expect(t.client.revokeAdminKey(me.id)).rejects.toMatchObject({ status: 409, code: "conflict" });
  });

  it("a revoked admin key stops working at once", async () => {
    const extra = await t.client.createAdminKey({ name: "temp", role: "reader" });
    const c = new KeywardClient(t.url, extra.key);
    await expect(c.me()).resolves.toMatchObject({ role: "reader" });
    await t.client.revokeAdminKey(extra.id);
    await expect(c.me()).rejects.toMatchObject({ status: 401 });
  });

  it("rotate is safe to retry with an Idempotency-Key", async () => {
    const k = await t.client.createKey(projectId, { name: "retry" });
    const idem = "retry-rotate-0123456789";
    const first = await t.client.rotateKey(k.id, 0, idem);
    const second = await t.client.rotateKey(k.id, 0, idem);
    expect(second.key).toBe(first.key);
    expect(second.old_key_expires_at).toBe(first.old_key_expires_at);
    const rotations = await t.client.listAudit({ target_id: k.id, action: "key.rotated" });
    expect(rotations.data).toHaveLength(1);
    await expect(t.client.rotateKey(k.id, 60, idem)).rejects.toMatchObject({
      status: 422,
      code: "idempotency_key_reused",
    });
    expect((await t.client.verifyKey({ key: first.key })).code).toBe("VALID");
  });

  it("create is safe to retry with an Idempotency-Key", async () => {
    const idem = "retry-create-0123456789";
    const a = await t.client.createKey(projectId, { name: "once" }, idem);
    const b = await t.client.createKey(projectId, { name: "once" }, idem);
    expect(b.id).toBe(a.id);
    expect(b.key).toBe(a.key);
    const all = await t.client.listKeys({ project_id: projectId, limit: 100 });
    expect(all.data.filter((k) => k.name === "once")).toHaveLength(1);
  });

  it("keys expire at their TTL and grace periods end on time", async () => {
    const k = await t.client.createKey(projectId, { name: "ttl", ttl_seconds: 3600 });
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("VALID");
    clock.advance(3600_000);
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("EXPIRED");
    expect((await t.client.getKey(k.id)).status).toBe("expired");
    expect(
      (await t.client.listKeys({ project_id: projectId, status: "expired" })).data.map((x) => x.id),
    ).toContain(k.id);
    await expect(t.client.rotateKey(k.id, 0)).rejects.toMatchObject({ status: 409, code: "conflict" });

    const g = await t.client.createKey(projectId, { name: "grace" });
    const r = await t.client.rotateKey(g.id, 120);
    clock.advance(119_000);
    expect((await t.client.verifyKey({ key: g.key })).code).toBe("VALID");
    clock.advance(1_000);
    expect((await t.client.verifyKey({ key: g.key })).code).toBe("EXPIRED");
    expect((await t.client.verifyKey({ key: r.key })).code).toBe("VALID");
  });

  it("records last_used_at without a write on the verify path", async () => {
    const k = await t.client.createKey(projectId, { name: "used" });
    expect((await t.client.getKey(k.id)).last_used_at).toBeNull();
    await t.client.verifyKey({ key: k.key });
    await t.ctx.lastUsed.flush();
    expect((await t.client.getKey(k.id)).last_used_at).toBe(new Date(clock.now()).toISOString());
  });

  it("deleting a key needs policy and a revoked key; the audit trail stays", async () => {
    const k = await t.client.createKey(projectId, { name: "del" });
    await expect(t.client.deleteKey(k.id)).rejects.toMatchObject({ status: 403 });
  });
});

describe("key deletion when policy allows", () => {
  it("deletes only revoked or expired keys and keeps their audit entries", async () => {
    const t = await startTestServer("sqlite", { config: { allowKeyDelete: true }, logLevel: "warn" });
    try {
      const p = await t.client.createProject({ name: "del" });
      const k = await t.client.createKey(p.id, { name: "gone" });
      await expect(t.client.deleteKey(k.id)).rejects.toMatchObject({ status: 409 });
      await t.client.revokeKey(k.id);
      await t.client.deleteKey(k.id);
      await expect(t.client.getKey(k.id)).rejects.toMatchObject({ status: 404 });
      expect((await t.client.verifyKey({ key: k.key })).code).toBe("NOT_FOUND");
      const trail = await t.client.listAudit({ target_id: k.id });
      expect(trail.data.map((e) => e.action)).toEqual(["key.deleted", "key.revoked", "key.created"]);
      expect((await t.client.verifyAudit()).ok).toBe(true);
    } finally {
      await t.stop();
    }
  });
});
