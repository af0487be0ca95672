import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";
import { fakeKeywardKey, fakeProviderKey } from "../support/secrets.js";
import { isolatedEnv, keyward, requireBuild } from "./scan-helpers.js";

/**
 * `keyward scan --revoke` against a real server: active keys found in files are revoked with
 * the location as reason (and audited), already-revoked and unknown keys are reported as such,
 * another admin key found is revoked, the operator's own admin key is not, and the output says
 * what to do next — without printing any secret.
 */
describe("keyward scan --revoke", () => {
  let t: TestServer;
  let tmp: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    t = await startTestServer("sqlite", { logLevel: "silent" });
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-revoke-e2e-"));
    env = isolatedEnv(tmp, { KEYWARD_URL: t.url, KEYWARD_ADMIN_KEY: t.ownerKey });
  });
  afterAll(async () => {
    await t?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("revokes active found keys with the location as reason, and says what to do next", async () => {
    const project = await t.client.createProject({ name: "leaky" });
    const live = await t.client.createKey(project.id, { name: "web" });
    const disabled = await t.client.createKey(project.id, { name: "batch" });
    await t.client.disableKey(disabled.id);
    const gone = await t.client.createKey(project.id, { name: "old" });
    await t.client.revokeKey(gone.id, "rotated out");
    const otherAdmin = await t.client.createAdminKey({ name: "ci", role: "admin" });
    const unknown = fakeKeywardKey("live");
    const openai = fakeProviderKey.openaiProject();

    const dir = path.join(tmp, "app");
    mkdirSync(path.join(dir, "config"), { recursive: true });
    writeFileSync(path.join(dir, "config", "prod.env"), `KEYWARD_KEY=${live.key}\nBATCH=${disabled.key}\n`);
    writeFileSync(path.join(dir, "old.txt"), `${gone.key}\n${unknown}\n`);
    writeFileSync(
      path.join(dir, "ci.yaml"),
      `admin: ${otherAdmin.key}\nowner: ${t.ownerKey}\nopenai: ${openai}\n`,
    );
    // The same key twice: revoked once.
    writeFileSync(path.join(dir, "copy.txt"), `${live.key}\n`);

    const r = await keyward(["scan", "app", "--revoke"], tmp, env);
    expect(r.code).toBe(1); // found (and acted on)
    const out = r.stdout + r.stderr;
    for (const s of [live.key, disabled.key, gone.key, otherAdmin.key, t.ownerKey, openai, unknown])
      expect(out).not.toContain(s);
    expect(out).toMatch(
      new RegExp(`REVOKED +kw_live_…${live.key.slice(-4)} \\(${live.id}\\) from app/config/prod.env:1`),
    );
    expect(out).toMatch(new RegExp(`REVOKED +kw_live_…${disabled.key.slice(-4)} \\(${disabled.id}\\)`));
    expect(out).toMatch(new RegExp(`already revoked +kw_live_…${gone.key.slice(-4)}`));
    expect(out).toMatch(/unknown here +kw_live_…/);
    expect(out).toMatch(new RegExp(`REVOKED +kw_admin_…${otherAdmin.key.slice(-4)} \\(${otherAdmin.id}\\)`));
    expect(out).toMatch(/NOT revoked +kw_admin_….*admin key running this command/);
    expect(out).toContain("git filter-repo");
    expect(out).toContain("BFG");
    expect(out).toContain("https://platform.openai.com/api-keys");

    // The server agrees, and the reason (where it leaked) is on the key and in the audit log.
    expect((await t.client.verifyKey({ key: live.key })).code).toBe("REVOKED");
    expect((await t.client.verifyKey({ key: disabled.key })).code).toBe("REVOKED");
    const k = await t.client.getKey(live.id);
    expect(k.revoked_reason).toBe("leaked: found at app/config/prod.env:1");
    expect((await t.client.getKey(gone.id)).revoked_reason).toBe("rotated out");
    const audit = await t.client.listAudit({ action: "key.revoked" });
    const entries = audit.data.filter((e) => e.target_id === live.id);
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries[0]!.changes)).toContain("leaked: found at app/config/prod.env:1");
    expect((await t.client.me()).id).toBeTruthy(); // the owner key still works

    // Again: nothing left to revoke; JSON carries the outcomes.
    const again = await keyward(["scan", "app", "--revoke", "--json"], tmp, env);
    expect(again.code).toBe(1);
    const json = JSON.parse(again.stdout) as { revocations: Array<{ outcome: string; key_id?: string }> };
    expect(json.revocations.find((x) => x.key_id === live.id)?.outcome).toBe("already_revoked");
    expect(json.revocations.filter((x) => x.outcome === "revoked")).toEqual([]);
  });

  it("without an admin key --revoke fails before scanning (exit 2); --report only reports", async () => {
    const dir = path.join(tmp, "solo");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "a.txt"), `${fakeKeywardKey()}\n`);
    const noKey = await keyward(["scan", "solo", "--revoke"], tmp, { ...env, KEYWARD_ADMIN_KEY: "" });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^keyward: no admin key/);
    const report = await keyward(["scan", "solo", "--report"], tmp, env);
    expect(report.code).toBe(1);
    expect(report.stdout).not.toContain("Revocation");
    const down = await keyward(["scan", "solo", "--revoke", "--url", "http://127.0.0.1:9"], tmp, env);
    expect(down.code).toBe(2);
  });
});
