import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/client/client.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

describe.each(testDialects())("key lifecycle over HTTP (%s)", (dialect) => {
  let t: TestServer;
  let projectId: string;
  beforeAll(async () => {
    t = await startTestServer(dialect);
    projectId = (await t.client.createProject({ name: "web" })).id;
  });
  afterAll(async () => t?.stop());

  it("creates a key that verifies VALID, shows the secret once, lists it masked", async () => {
    const created = await t.client.createKey(projectId, { name: "ci" });
    expect(created.key).toMatch(/^kw_live_[0-9A-Za-z]{38}$/);
    expect(created.masked_key).toBe(`kw_live_…${created.key.slice(-4)}`);
    const v = await t.client.verifyKey({ key: created.key });
    expect(v).toMatchObject({ valid: true, code: "VALID", key_id: created.id, project_id: projectId });
    const fetched = await t.client.getKey(created.id);
    expect(JSON.stringify(fetched)).not.toContain(created.key);
    expect(fetched).not.toHaveProperty("key");
    const list = await t.client.listKeys({ project_id: projectId });
    expect(list.data.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.key);
  });

  it("revoked keys fail on the very next call", async () => {
    const k = await t.client.createKey(projectId, { name: "to-revoke" });
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("VALID");
    await t.client.revokeKey(k.id, "leaked in a gist");
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("REVOKED");
    const again = await t.client.getKey(k.id);
    expect(again.status).toBe("revoked");
    expect(again.revoked_reason).toBe("leaked in a gist");
  });

  it("rotate with grace 0: old fails at once, new works", async () => {
    const k = await t.client.createKey(projectId, { name: "rot0" });
    await t.client.verifyKey({ key: k.key }); // warm the cache
    const r = await t.client.rotateKey(k.id, 0);
    expect(r.key).not.toBe(k.key);
    expect(r.id).toBe(k.id);
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("EXPIRED");
    expect((await t.client.verifyKey({ key: r.key })).code).toBe("VALID");
  });

  it("rotate with a grace period: both work, the response says until when", async () => {
    const k = await t.client.createKey(projectId, { name: "rot-grace" });
    const before = Date.now();
    const r = await t.client.rotateKey(k.id, 3600);
    const until = Date.parse(r.old_key_expires_at);
    expect(until).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("VALID");
    expect((await t.client.verifyKey({ key: r.key })).code).toBe("VALID");
  });

  it("a bad checksum is MALFORMED", async () => {
    const k = await t.client.createKey(projectId, { name: "typo" });
    const last = k.key.at(-1)!;
    const typo = k.key.slice(0, -1) + (last === "A" ? "B" : "A");
    expect(await t.client.verifyKey({ key: typo })).toMatchObject({
      valid: false,
      code: "MALFORMED",
      key_id: null,
    });
  });

  it("disable/enable, permissions, models and IPs are checked in order", async () => {
    const k = await t.client.createKey(projectId, {
      name: "scoped",
      permissions: { mode: "restricted", resources: { chat_completions: "write", models: "read" } },
      allowed_models: ["gpt-4o-mini"],
      allowed_ips: ["10.0.0.0/8"],
    });
    expect(
      (
        await t.client.verifyKey({
          key: k.key,
          ip: "10.1.1.1",
          resource: "chat_completions",
          model: "gpt-4o-mini",
        })
      ).code,
    ).toBe("VALID");
    expect((await t.client.verifyKey({ key: k.key, ip: "11.1.1.1" })).code).toBe("FORBIDDEN");
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("FORBIDDEN");
    expect((await t.client.verifyKey({ key: k.key, ip: "10.1.1.1", resource: "embeddings" })).code).toBe(
      "FORBIDDEN",
    );
    expect(
      (await t.client.verifyKey({ key: k.key, ip: "10.1.1.1", resource: "models", access: "write" })).code,
    ).toBe("FORBIDDEN");
    expect((await t.client.verifyKey({ key: k.key, ip: "10.1.1.1", model: "gpt-4o" })).code).toBe(
      "FORBIDDEN",
    );
    await t.client.disableKey(k.id);
    expect((await t.client.verifyKey({ key: k.key, ip: "10.1.1.1" })).code).toBe("DISABLED");
    await t.client.enableKey(k.id);
    expect((await t.client.verifyKey({ key: k.key, ip: "10.1.1.1" })).code).toBe("VALID");
    await t.client.updateKey(k.id, { allowed_ips: null });
    expect((await t.client.verifyKey({ key: k.key })).code).toBe("VALID");
  });

  it("unknown keys with a valid checksum are NOT_FOUND and reveal nothing", async () => {
    const { generateKey } = await import("../../src/core/key-format.js");
    const v = await t.client.verifyKey({ key: generateKey("kw", "live") });
    expect(v).toMatchObject({ valid: false, code: "NOT_FOUND", key_id: null, project_id: null, name: null });
  });

  it("rejects missing and invalid admin keys with 401", async () => {
    const res = await fetch(`${t.url}/api/v1/projects`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; request_id: string } };
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    const bad = await fetch(`${t.url}/api/v1/projects`, {
      headers: { authorization: "Bearer kw_admin_nope" },
    });
    expect(bad.status).toBe(401);
  });

  it("serves an OpenAPI 3.1 document", async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/keys",
        "/api/v1/keys/{key_id}/rotate",
        "/api/v1/keys/verify",
        "/api/v1/audit/verify",
      ]),
    );
  });

  it("audit chain verifies", async () => {
    const report = await t.client.verifyAudit();
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThan(5);
  });

  it("errors are ApiErrors with codes", async () => {
    await expect(t.client.getKey("key_00000000000000000000000000")).rejects.toMatchObject({
      status: 404,
      code: "not_found",
    });
    await expect(t.client.getKey("nope")).rejects.toBeInstanceOf(ApiError);
  });
});
