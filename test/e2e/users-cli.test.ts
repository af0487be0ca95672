import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserView } from "../../src/people/views.js";
import { Browser } from "../support/browser.js";
import { startTestServer, type TestServer } from "../support/harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin", "keyward.js");

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { PATH: process.env.PATH ?? "", KEYWARD_CLI_CONFIG: "/nonexistent/cli.json", ...env },
        timeout: 30_000,
        cwd: ROOT,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** `keyward init`'s setup link and `keyward users …`, locally and against a server (needs `npm run build`). */
describe("keyward users CLI (sqlite)", () => {
  let t: TestServer;
  let env: Record<string, string>;
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await cli([...args, "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, "dist", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` before this test");
    t = await startTestServer("sqlite", { logLevel: "warn" });
    env = { KEYWARD_URL: t.url, KEYWARD_ADMIN_KEY: t.ownerKey };
  });
  afterAll(async () => t?.stop());

  it("init prints a one-time setup link next to the owner admin key (public URL configurable)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "keyward-users-cli-"));
    try {
      const text = await cli(["init", "--data-dir", dir], { KEYWARD_PUBLIC_URL: "https://keys.example.com" });
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/kw_admin_/);
      expect(text.stdout).toMatch(/https:\/\/keys\.example\.com\/invite\/[A-Za-z0-9_-]{43}/);
      const dir2 = mkdtempSync(path.join(tmpdir(), "keyward-users-cli-"));
      try {
        const r = await cli(["init", "--json", "--data-dir", dir2, "--owner-email", "boss@example.com"], {});
        const out = JSON.parse(r.stdout) as { admin_key: string; setup_url: string };
        expect(out.admin_key).toMatch(/^kw_admin_/);
        expect(out.setup_url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/invite\//);
        // Nobody has an account until the link is used.
        const local = await cli(["users", "list", "--json", "--data-dir", dir2], {});
        expect(JSON.parse(local.stdout)).toEqual({ data: [] });
      } finally {
        rmSync(dir2, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("invite --json prints the link; the invited person signs in with it", async () => {
    const project = await t.client.createProject({ name: "cli-people" });
    const inv = await json<{ invite_url: string; invitation: { role: string; projects: string[] } }>(
      "users",
      "invite",
      "--email",
      "Mo@Example.com",
      "--role",
      "member",
      "--project",
      project.id,
    );
    expect(inv.invite_url.startsWith(`${t.url}/invite/`)).toBe(true);
    expect(inv.invitation).toMatchObject({ email: "mo@example.com", role: "member", projects: [project.id] });
    const b = new Browser(t.url);
    const r = await b.accept(inv.invite_url, { display_name: "Mo", password: "mo's long passphrase" });
    expect(r.status).toBe(200);

    const list = await json<{ data: UserView[] }>("users", "list");
    expect(list.data.map((u) => u.email)).toContain("mo@example.com");
    const text = await cli(["users", "list"], env);
    expect(text.stdout).toMatch(/mo@example\.com\s+Mo\s+member/);

    const disabled = await json<{ user: UserView }>("users", "disable", "mo@example.com");
    expect(disabled.user.disabled_at).not.toBeNull();
    expect((await b.get("/auth/me")).status).toBe(401);
    await json("users", "enable", "mo@example.com");
    const promoted = await json<{ user: UserView }>("users", "set-role", "mo@example.com", "reader");
    expect(promoted.user).toMatchObject({ role: "reader", projects: [project.id] });
    const reset = await json<{ reset_url: string }>("users", "reset-link", "mo@example.com");
    expect(reset.reset_url.startsWith(`${t.url}/invite/`)).toBe(true);

    const bad = await cli(["users", "set-role", "mo@example.com", "boss"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/role must be one of/);
    const none = await cli(["users", "disable", "nobody@example.com"], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no user nobody@example.com/);
  });

  it("the audit log names the admin key that invited", async () => {
    const me = await t.client.me();
    const audit = await t.client.listAudit({ action: "invitation.created" });
    expect(audit.data[0]).toMatchObject({ actor_id: me.id, target_type: "invitation" });
  });
});
