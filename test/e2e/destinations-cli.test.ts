import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";

/** `keyward destinations …` as a child process (from source through tsx) against a real server. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = path.join(ROOT, "src", "cli", "main.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly `env` (plus PATH), never the developer's own KEYWARD_* settings. */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000, cwd: ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("keyward destinations CLI (sqlite)", () => {
  let t: TestServer;
  let tmp: string;
  let env: Record<string, string>;
  let keyId: string;

  beforeAll(async () => {
    t = await startTestServer("sqlite", { logLevel: "warn" });
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-dcli-"));
    env = {
      HOME: tmp,
      KEYWARD_CLI_CONFIG: path.join(tmp, "no-such-cli.json"),
      KEYWARD_URL: t.url,
      KEYWARD_ADMIN_KEY: t.ownerKey,
    };
    const project = await t.client.createProject({ name: "cli-destinations" });
    keyId = (await t.client.createKey(project.id, { name: "pushed" })).id;
  });
  afterAll(async () => {
    await t?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("adds a Vault destination with the token from the environment, never from a flag", async () => {
    const token = "hvs.cli-test-token-0123456789";
    const missing = await cli(
      ["destinations", "add", keyId, "vault", "--address", "http://127.0.0.1:8200", "--path", "apps/x"],
      env,
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("VAULT_TOKEN");
    expect((await t.client.listDestinations(keyId)).data).toHaveLength(0);

    const r = await cli(
      ["destinations", "add", keyId, "vault", "--address", "http://127.0.0.1:8200", "--path", "apps/x"],
      { ...env, VAULT_TOKEN: token },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("vault http://127.0.0.1:8200 secret/apps/x#OPENAI_API_KEY");
    expect(r.stdout).toContain(`keyward keys rotate ${keyId}`);
    expect(r.stdout).not.toContain(token);
  });

  it("adds a webhook and shows its signing secret once; list and remove", async () => {
    const added = await cli(
      ["destinations", "add", keyId, "webhook", "--webhook-url", "http://localhost:9/hook", "--json"],
      env,
    );
    expect(added.code).toBe(0);
    const hook = JSON.parse(added.stdout) as { id: string; signing_secret?: string };
    expect(hook.signing_secret).toBeTruthy();

    const list = await cli(["destinations", "list", keyId], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("webhook http://localhost:9/");
    expect(list.stdout).toContain("not pushed yet (next rotation)");
    expect(list.stdout).not.toContain(hook.signing_secret);

    const removed = await cli(["destinations", "remove", keyId, hook.id], env);
    expect(removed.stdout.trim()).toBe(`removed ${hook.id}`);
    const after = await t.client.listDestinations(keyId);
    expect(after.data.map((d) => d.id)).not.toContain(hook.id);
    expect(after.data).toHaveLength(1);
  });

  it("keys rotate names each destination's push (here: Vault is down, so pending with the error)", async () => {
    const r = await cli(["keys", "rotate", keyId], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Secret destinations:");
    expect(r.stdout).toMatch(/dst_\w+: pending \(attempt 1: .+; next \d{4}-/);
  });

  it("refuses an unknown kind and a missing flag with a usage error", async () => {
    const unknown = await cli(["destinations", "add", keyId, "s3"], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown destination "s3"');
    const noUrl = await cli(["destinations", "add", keyId, "webhook"], env);
    expect(noUrl.stderr).toContain("--webhook-url");
  });
});
