import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";

/**
 * The built CLI (`node bin/keyward.js …`) as a child process against a real server: exit codes,
 * stdout and stderr as a user or a script sees them. Needs `npm run build` (`npm test` does it).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin", "keyward.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly `env` (plus PATH), never the developer's own KEYWARD_* settings. */
function cli(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000, cwd: ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The lines of a stream's text, without the trailing newline. */
const lines = (s: string) => s.trimEnd().split("\n");

describe("keyward CLI against a running server (sqlite)", () => {
  let t: TestServer;
  let tmp: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => cli(args, env);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await run(...args, "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  let projectId: string;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, "dist", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` before this test");
    t = await startTestServer("sqlite");
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-cli-"));
    env = {
      HOME: tmp,
      KEYWARD_CLI_CONFIG: path.join(tmp, "no-such-cli.json"),
      KEYWARD_URL: t.url,
      KEYWARD_ADMIN_KEY: t.ownerKey,
    };
  });
  afterAll(async () => {
    await t?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("projects create/list --json print the API objects", async () => {
    const p = await json<{ id: string; object: string; name: string; description: string | null }>(
      "projects",
      "create",
      "cli-web",
      "--description",
      "made by the CLI test",
    );
    expect(p).toMatchObject({ object: "project", name: "cli-web", description: "made by the CLI test" });
    expect(p.id).toMatch(/^proj_[0-9A-Z]{26}$/);
    projectId = p.id;
    expect((await t.client.getProject(p.id)).name).toBe("cli-web");

    const list = await json<{ object: string; data: Array<{ id: string; name: string }> }>(
      "projects",
      "list",
    );
    expect(list.object).toBe("list");
    expect(list.data).toContainEqual(expect.objectContaining({ id: p.id, name: "cli-web" }));
  });

  it("keys create --json returns a secret that keys verify reports VALID (exit 0)", async () => {
    const k = await json<{
      id: string;
      key: string;
      masked_key: string;
      permissions: unknown;
      expires_at: string;
    }>(
      "keys",
      "create",
      "--project",
      projectId,
      "--name",
      "ci",
      "--resource",
      "chat_completions=write",
      "--resource",
      "models=read",
      "--models",
      "gpt-4o,gpt-4o-mini*",
      "--ttl",
      "30d",
      "--metadata",
      '{"team":"search"}',
    );
    expect(k.key).toMatch(/^kw_live_[0-9A-Za-z]{38}$/);
    expect(k.masked_key).toBe(`kw_live_…${k.key.slice(-4)}`);
    expect(k.permissions).toEqual({
      mode: "restricted",
      resources: { chat_completions: "write", models: "read" },
    });
    const ttl = Date.parse(k.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(30 * 86400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 86400_000);
    expect((await t.client.getKey(k.id)).metadata).toEqual({ team: "search" });

    const v = await run("keys", "verify", k.key);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^VALID\\s+${k.id}`));
    // Scope checks go through: a read-only resource may not be written, a model off the list is refused.
    const denied = await run("keys", "verify", k.key, "--resource", "models", "--access", "write");
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^FORBIDDEN/);
    const model = await run("keys", "verify", k.key, "--model", "gpt-3.5-turbo");
    expect(model.code).toBe(1);
    expect(model.stdout).toMatch(/^FORBIDDEN/);
    // `-` reads the secret from stdin, so it need not appear in the process list.
    const stdin = await cli(["keys", "verify", "-", "--json"], env, k.key + "\n");
    expect(stdin.code).toBe(0);
    expect(JSON.parse(stdin.stdout)).toMatchObject({ valid: true, code: "VALID", key_id: k.id });
  });

  it("human create output prints the secret with a shown-once note", async () => {
    const r = await run("keys", "create", "--project", projectId, "--name", "human");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/shown once/);
    const secret = /kw_live_[0-9A-Za-z]{38}/.exec(r.stdout)?.[0];
    expect(secret).toBeDefined();
    expect((await t.client.verifyKey({ key: secret! })).code).toBe("VALID");
  });

  it("revoke → verify says REVOKED and exits 1", async () => {
    const k = await t.client.createKey(projectId, { name: "to-revoke" });
    const r = await run("keys", "revoke", k.id, "--reason", "leaked in a gist");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked key ${k.id}`);
    const v = await run("keys", "verify", k.key);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^REVOKED/);
    expect((await t.client.getKey(k.id)).revoked_reason).toBe("leaked in a gist");
  });

  it("rotate --grace 0: the old secret is EXPIRED, the new one VALID", async () => {
    const k = await t.client.createKey(projectId, { name: "rot0" });
    expect((await run("keys", "verify", k.key)).code).toBe(0); // warm the server's cache
    const r = await json<{ id: string; key: string; old_key_expires_at: string }>(
      "keys",
      "rotate",
      k.id,
      "--grace",
      "0",
    );
    expect(r.id).toBe(k.id);
    expect(r.key).toMatch(/^kw_live_/);
    expect(r.key).not.toBe(k.key);
    expect(Date.parse(r.old_key_expires_at)).toBeLessThanOrEqual(Date.now());
    const old = await run("keys", "verify", k.key);
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(/^EXPIRED/);
    const fresh = await run("keys", "verify", r.key);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^VALID/);
  });

  it("rotate --grace 24h says until when the old secret works, and both work", async () => {
    const k = await t.client.createKey(projectId, { name: "rot-grace" });
    const r = await run("keys", "rotate", k.id, "--grace", "24h");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/shown once/);
    const until = /keeps working until (\S+)\./.exec(r.stdout)?.[1];
    expect(Date.parse(until ?? "")).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const secret = /kw_live_[0-9A-Za-z]{38}/.exec(r.stdout)![0];
    expect((await run("keys", "verify", k.key)).code).toBe(0);
    expect((await run("keys", "verify", secret)).code).toBe(0);
  });

  it("keys list --json is masked: no secret anywhere in the output", async () => {
    const a = await t.client.createKey(projectId, { name: "list-a" });
    const b = await t.client.createKey(projectId, { name: "list-b" });
    const r = await run("keys", "list", "--project", projectId, "--all", "--json");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(a.key);
    expect(r.stdout).not.toContain(b.key);
    const list = JSON.parse(r.stdout) as { data: Array<{ id: string; masked_key: string; key?: string }> };
    const byId = new Map(list.data.map((k) => [k.id, k]));
    expect(byId.get(a.id)?.masked_key).toBe(a.masked_key);
    expect(byId.get(b.id)?.masked_key).toBe(b.masked_key);
    expect(list.data.every((k) => k.key === undefined)).toBe(true);
    // --limit 1 --all follows the cursor and still gets every key.
    const paged = await json<{ data: Array<{ id: string }>; has_more: boolean }>(
      "keys",
      "list",
      "--project",
      projectId,
      "--limit",
      "1",
      "--all",
    );
    expect(paged.data.map((k) => k.id)).toEqual(list.data.map((k) => k.id));
    expect(paged.has_more).toBe(false);
  });

  it("bad local flag input is a one-line usage error (exit 2) and sends nothing", async () => {
    const before = (await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length;
    const cases: Array<[string[], RegExp]> = [
      [["--ttl", "3y"], /--ttl: "3y" is not a duration/],
      [["--metadata", "{team:1}"], /--metadata: not valid JSON/],
      [["--metadata", "[1]"], /--metadata: must be a JSON object/],
      [["--resource", "chat_completions"], /--resource: .* must look like name=level/],
      [["--resource", "chat=write"], /unknown resource "chat"/],
      [["--ttl", "1h", "--expires-at", "2030-01-01"], /not both/],
      [["--expires-at", "2030-02-31"], /--expires-at: .* not an ISO 8601 time/],
    ];
    for (const [flags, message] of cases) {
      const r = await run("keys", "create", "--project", projectId, "--name", "bad", ...flags);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length).toBe(before);
  });

  it("an API error is one line with its code, exit 1", async () => {
    const r = await run("keys", "show", "key_01AAAAAAAAAAAAAAAAAAAAAAAA");
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^keyward: key not found \(not_found, request /);
  });

  it("audit verify exits 0 on an intact chain", async () => {
    const r = await run("audit", "verify");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^audit log OK: \d+ entries/);
    const report = await json<{ ok: boolean; entries: number; issues: unknown[] }>("audit", "verify");
    expect(report.ok).toBe(true);
    expect(report.issues).toEqual([]);
    expect(report.entries).toBeGreaterThan(5);
  });

  it("audit list filters, audit export --format csv has a header line", async () => {
    const revoked = await json<{ data: Array<{ action: string; target_id: string }> }>(
      "audit",
      "list",
      "--action",
      "key.revoked",
      "--since",
      "1h",
    );
    expect(revoked.data.length).toBe(1);
    expect(revoked.data[0]!.action).toBe("key.revoked");

    const r = await run("audit", "export", "--format", "csv");
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split("\r\n");
    expect(rows[0]).toBe(
      "seq,id,ts,actor_id,actor_role,action,target_type,target_id,project_id,ip,user_agent,changes,hash",
    );
    expect(rows.some((l) => l.includes(",key.created,"))).toBe(true);

    const file = path.join(tmp, "audit.json");
    const w = await run("audit", "export", "--output", file);
    expect(w.code).toBe(0);
    const exported = JSON.parse(readFileSync(file, "utf8")) as Array<{ seq: number }>;
    expect(exported[0]!.seq).toBe(1);
    expect(exported.length).toBe(rows.length - 1);
  });

  it("admin-keys create prints a key that works; whoami shows it", async () => {
    const a = await json<{ id: string; key: string; role: string }>(
      "admin-keys",
      "create",
      "--name",
      "auditor",
      "--role",
      "reader",
    );
    expect(a.key).toMatch(/^kw_admin_/);
    expect(a.role).toBe("reader");
    const me = await cli(["whoami", "--json"], { ...env, KEYWARD_ADMIN_KEY: a.key });
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout)).toEqual({ id: a.id, name: "auditor", role: "reader" });
    // A reader may not create keys: the server says so, in one line.
    const denied = await cli(["projects", "create", "nope"], { ...env, KEYWARD_ADMIN_KEY: a.key });
    expect(denied.code).toBe(1);
    expect(lines(denied.stderr)).toHaveLength(1);
    expect(denied.stderr).toMatch(/\(forbidden, request /);
  });

  it("a missing admin key is a one-line error and a non-zero exit", async () => {
    const { KEYWARD_ADMIN_KEY: _omit, ...noKey } = env;
    const r = await cli(["keys", "list"], noKey);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual([
      "keyward: no admin key: pass --admin-key, set KEYWARD_ADMIN_KEY, or run `keyward init` first",
    ]);
  });

  it("an unknown command exits non-zero with one line", async () => {
    const r = await run("frobnicate");
    expect(r.code).not.toBe(0);
    expect(lines(r.stderr)).toEqual(["keyward: unknown command 'frobnicate'"]);
  });

  it("init --json on a fresh data dir prints the admin key once; a second init fails with exit 1", async () => {
    const dataDir = path.join(tmp, "fresh-data");
    const first = await cli(["init", "--json", "--data-dir", dataDir], { HOME: tmp });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as { admin_key: string; id: string; role: string };
    expect(out.admin_key).toMatch(/^kw_admin_[0-9A-Za-z]{38}$/);
    expect(out.id).toMatch(/^adm_/);
    expect(out.role).toBe("owner");
    const second = await cli(["init", "--json", "--data-dir", dataDir], { HOME: tmp });
    expect(second.code).toBe(1);
    expect(second.stdout).toBe("");
    expect(lines(second.stderr)).toHaveLength(1);
    expect(second.stderr).toMatch(/already initialised/);
  });

  // Last: it breaks the chain on purpose.
  it("audit verify exits 1 and names the entry when a row was edited", async () => {
    const victim = (await t.client.listAudit({ action: "key.revoked" })).data[0]!;
    await t.ctx.store.db
      .updateTable("audit_log")
      .set({ changes: JSON.stringify({ after: { status: "active" } }) })
      .where("seq", "=", victim.seq)
      .execute();
    const r = await run("audit", "verify");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit log TAMPERED/);
    expect(r.stdout).toContain(`seq ${victim.seq} (${victim.id}): hash_mismatch`);
  });
});
