import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

/** Principle 3: if the audit entry cannot be written, the change does not happen. */
describe.each(testDialects())("a change and its audit entry commit together (%s)", (dialect) => {
  let t: TestServer;
  let projectId: string;
  let keyId: string;
  let secret: string;
  beforeAll(async () => {
    t = await startTestServer(dialect, { logLevel: "fatal" });
    projectId = (await t.client.createProject({ name: "atomic" })).id;
    const k = await t.client.createKey(projectId, { name: "survivor" });
    keyId = k.id;
    secret = k.key;
    // Make every audit insert fail from now on.
    if (dialect === "sqlite") {
      await sql`create trigger audit_down before insert on audit_log begin select raise(abort, 'audit down'); end`.execute(
        t.ctx.store.db,
      );
    } else {
      await sql`create function audit_down() returns trigger language plpgsql as $$ begin raise exception 'audit down'; end $$`.execute(
        t.ctx.store.db,
      );
      await sql`create trigger audit_down before insert on audit_log for each row execute function audit_down()`.execute(
        t.ctx.store.db,
      );
    }
  });
  afterAll(async () => t?.stop());

  it("no key is created, rotated, revoked or renamed without its entry", async () => {
    const keysBefore = await t.client.listKeys({ project_id: projectId });
    await expect(t.client.createKey(projectId, { name: "ghost" })).rejects.toMatchObject({
      status: 500,
      code: "internal_error",
    });
    await expect(t.client.rotateKey(keyId, 0)).rejects.toMatchObject({ status: 500 });
    await expect(t.client.revokeKey(keyId)).rejects.toMatchObject({ status: 500 });
    await expect(t.client.updateKey(keyId, { name: "renamed" })).rejects.toMatchObject({ status: 500 });
    await expect(t.client.createProject({ name: "ghost-project" })).rejects.toMatchObject({ status: 500 });
    const keysAfter = await t.client.listKeys({ project_id: projectId });
    expect(keysAfter.data).toEqual(keysBefore.data);
    expect((await t.client.verifyKey({ key: secret })).code).toBe("VALID");
    expect((await t.client.getKey(keyId)).name).toBe("survivor");
    expect((await t.client.listProjects()).data.map((p) => p.name)).toEqual(["atomic"]);
  });

  it("the failure leaks nothing to the client", async () => {
    const res = await fetch(`${t.url}/api/v1/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toMatch(/audit down|sqlite|postgres|insert|stack|\bat /i);
  });
});
