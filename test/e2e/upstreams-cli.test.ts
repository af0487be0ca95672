import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterKeyId, MASTER_KEY_FILE } from "../../src/crypto/master-key.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import type { UpstreamView } from "../../src/upstreams/model.js";

/**
 * `keyward upstreams …` as a child process (run from source through tsx, so it needs no build)
 * against a real server, and `upstreams rotate-master` opening the same SQLite store directly.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = path.join(ROOT, "src", "cli", "main.ts");

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
      ["--import", "tsx", MAIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000, cwd: ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? "");
  });
}

describe("keyward upstreams CLI (sqlite)", () => {
  let t: TestServer;
  let tmp: string;
  let env: Record<string, string>;
  let projectId: string;
  const providerKey = `sk-proj-${randomBytes(30).toString("base64url")}`;
  const outputs: string[] = [];
  const run = async (args: string[], input?: string, extraEnv: Record<string, string> = {}) => {
    const r = await cli(args, { ...env, ...extraEnv }, input);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    t = await startTestServer("sqlite", { logLevel: "warn" });
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-ucli-"));
    env = {
      HOME: tmp,
      KEYWARD_CLI_CONFIG: path.join(tmp, "no-such-cli.json"),
      KEYWARD_URL: t.url,
      KEYWARD_ADMIN_KEY: t.ownerKey,
    };
    projectId = (await t.client.createProject({ name: "cli-upstreams" })).id;
  });
  afterAll(async () => {
    await t?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  let created: UpstreamView;

  it("add reads the key from stdin and prints it masked only", async () => {
    const r = await run(
      [
        "upstreams",
        "add",
        "--project",
        projectId,
        "--name",
        "openai",
        "--base-url",
        "https://api.openai.com/v1/",
        "--api-key-stdin",
        "--organization",
        "org-1",
        "--json",
      ],
      providerKey + "\n",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    created = JSON.parse(r.stdout) as UpstreamView;
    expect(created).toMatchObject({
      base_url: "https://api.openai.com/v1",
      masked_api_key: `sk-…${providerKey.slice(-4)}`,
      organization: "org-1",
    });
    expect(t.ctx.upstreamDirectory.forProject(projectId)?.apiKey).toBe(providerKey);
  });

  it("add with --api-key works but warns; usage errors exit 2 before any request", async () => {
    const other = `sk-${randomBytes(24).toString("hex")}`;
    const r = await run([
      "upstreams",
      "add",
      "--project",
      projectId,
      "--name",
      "second",
      "--base-url",
      "http://127.0.0.1:8000/v1",
      "--api-key",
      other,
      "--priority",
      "7",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/--api-key-stdin/);
    expect(r.stdout).toMatch(/added upstream ups_/);
    expect(r.stdout).toContain(`sk-…${other.slice(-4)}`);
    expect(r.stdout).not.toContain(other);

    const noKey = await run([
      "upstreams",
      "add",
      "--project",
      projectId,
      "--name",
      "x",
      "--base-url",
      "https://h",
    ]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^keyward: give --api-key-stdin or --api-key/);
    const empty = await run(
      [
        "upstreams",
        "add",
        "--project",
        projectId,
        "--name",
        "x",
        "--base-url",
        "https://h",
        "--api-key-stdin",
      ],
      "\n",
    );
    expect(empty.code).toBe(2);
    const badPriority = await run(["upstreams", "update", created.id, "--priority", "-1"]);
    expect(badPriority.code).not.toBe(0);
    const nothing = await run(["upstreams", "update", created.id]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/nothing to update/);
    const server = await run(
      [
        "upstreams",
        "add",
        "--project",
        projectId,
        "--name",
        "x",
        "--base-url",
        "https://user:pw@h/v1",
        "--api-key-stdin",
      ],
      "sk-whatever-key-value-here",
    );
    expect(server.code).toBe(1);
    expect(server.stderr).toMatch(
      /^keyward: invalid request body: base_url: must not contain credentials.*\(invalid_request/,
    );
  });

  it("list, show, update and remove", async () => {
    const list = await run(["upstreams", "list", "--project", projectId]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+BASE URL\s+API KEY\s+PRIORITY/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain("openai");

    const show = await run(["upstreams", "show", created.id]);
    expect(show.stdout).toMatch(/api_key\s+sk-…/);
    expect(show.stdout).toMatch(/organization\s+org-1/);

    const upd = await run([
      "upstreams",
      "update",
      created.id,
      "--organization",
      "none",
      "--name",
      "main",
      "--json",
    ]);
    expect(upd.code).toBe(0);
    expect(JSON.parse(upd.stdout)).toMatchObject({ name: "main", organization: null });

    const json = await run(["upstreams", "list", "--project", projectId, "--json"]);
    const data = (JSON.parse(json.stdout) as { data: UpstreamView[] }).data;
    const second = data.find((u) => u.name === "second")!;
    const rm = await run(["upstreams", "remove", second.id, "--json"]);
    expect(JSON.parse(rm.stdout)).toEqual({ id: second.id, object: "upstream", deleted: true });
    const gone = await run(["upstreams", "show", second.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/upstream not found \(not_found/);
  });

  it("rotate-master re-encrypts under the new key, then has nothing to do", async () => {
    const fileKey = readFileSync(path.join(t.store.dataDir, MASTER_KEY_FILE), "utf8").trim();
    const next = randomBytes(32).toString("hex");
    const store = { KEYWARD_DATA_DIR: t.store.dataDir };

    const wrong = await run(["upstreams", "rotate-master"], undefined, {
      ...store,
      KEYWARD_MASTER_KEY: next,
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/KEYWARD_MASTER_KEY_PREVIOUS/);
    expect(wrong.stderr).not.toContain(next);

    const r = await run(["upstreams", "rotate-master", "--json"], undefined, {
      ...store,
      KEYWARD_MASTER_KEY: next,
      KEYWARD_MASTER_KEY_PREVIOUS: fileKey,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const newId = masterKeyId(Buffer.from(next, "hex"));
    expect(JSON.parse(r.stdout)).toEqual({
      object: "master_key_rotation",
      key_id: newId,
      total: 1,
      rotated: 1,
      from_key_ids: [t.ctx.masterKeys.current.id],
    });
    const row = await t.ctx.store.db
      .selectFrom("upstreams")
      .select("api_key_cipher")
      .executeTakeFirstOrThrow();
    expect(SecretBox.keyIdOf(row.api_key_cipher)).toBe(newId);

    const again = await run(["upstreams", "rotate-master"], undefined, {
      ...store,
      KEYWARD_MASTER_KEY: next,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to do: all 1 upstream credential\(s\) already use master key/);

    const bad = await run(["upstreams", "rotate-master"], undefined, {
      ...store,
      KEYWARD_MASTER_KEY: "too-short",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^keyward: KEYWARD_MASTER_KEY must be 32 random bytes/);
    expect(bad.stderr).not.toContain("too-short");
  });

  it("no output ever contained the provider key or a master key", () => {
    const all = outputs.join("\n");
    expect(all).not.toContain(providerKey);
    expect(all).not.toContain(readFileSync(path.join(t.store.dataDir, MASTER_KEY_FILE), "utf8").trim());
  });
});
