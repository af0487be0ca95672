import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

/** `keyward run` as a user runs it: the built CLI, a real server, the official SDK in the child. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin", "keyward.js");
const CHILD = path.join(ROOT, "test", "e2e", "fixtures", "run-child.mjs");
const KEY_SHAPE = /kw_live_[0-9A-Za-z]{20,}/;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe("keyward run", () => {
  const clock = new ManualClock(Date.now());
  let mock: MockUpstream;
  let t: TestServer;
  let tmp: string;
  let projectId: string;

  /** Starts `keyward run …`; `until` resolves once stdout contains the text. */
  function start(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [BIN, "run", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", KEYWARD_URL: t.url, KEYWARD_ADMIN_KEY: t.ownerKey, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<Ran>((resolve) =>
      child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
    const until = async (text: string) => {
      await expect.poll(() => stdout, { timeout: 15_000 }).toContain(text);
    };
    return { child, done, until };
  }

  async function verify(key: string): Promise<string> {
    return (await t.client.verifyKey({ key })).code;
  }

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer("sqlite", {
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-mock-provider", keyCacheTtlMs: 0 },
      clock,
      logLevel: "silent",
    });
    projectId = (await t.client.createProject({ name: "ci" })).id;
    tmp = mkdtempSync(path.join(tmpdir(), "kw-run-"));
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("gives the command a working key, masks it in the output, exits with its code, revokes the key", async () => {
    const keyFile = path.join(tmp, "call.key");
    const r = await start(
      ["--project", projectId, "--models", "gpt-4o-mini", "--", "node", CHILD, "call", keyFile],
      {
        GITHUB_ACTIONS: "true",
        GITHUB_REPOSITORY: "acme/app",
        GITHUB_REF: "refs/heads/main",
        GITHUB_WORKFLOW: "ci",
        GITHUB_RUN_ID: "4242",
        GITHUB_ACTOR: "octocat",
      },
    ).done;
    const key = readFileSync(keyFile, "utf8");
    expect(key).toMatch(KEY_SHAPE);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("key=kw_live_****\n");
    expect(r.stdout).toContain(`reply=ok base=${t.url}/v1`);
    expect(r.stderr).toContain("stderr sees kw_live_**** too");
    for (const text of [r.stdout, r.stderr]) expect(text).not.toContain(key);
    expect(await verify(key)).toBe("REVOKED");
    // The run is on the key and in the audit log, for grouping usage and cost by pipeline.
    const keys = await t.client.listKeys({ project_id: projectId });
    const minted = keys.data.find((k) => k.metadata.keyward_run !== undefined)!;
    expect(minted.metadata.keyward_run).toEqual({
      ci_provider: "github_actions",
      repository: "acme/app",
      ref: "refs/heads/main",
      workflow: "ci",
      run_id: "4242",
      actor: "octocat",
    });
    expect(minted.name).toContain("acme/app#4242");
    expect(minted.allowed_models).toEqual(["gpt-4o-mini"]);
    const audit = await t.client.listAudit({ target_id: minted.id });
    expect(audit.data.map((e) => e.action)).toEqual(expect.arrayContaining(["key.created", "key.revoked"]));
    expect(JSON.stringify(audit.data)).toContain("acme/app");
  });

  it("SIGTERM to keyward reaches the command; the key is revoked and the exit code says the signal", async () => {
    const keyFile = path.join(tmp, "term.key");
    const run = start(["--project", projectId, "--", "node", CHILD, "wait", keyFile]);
    await run.until("ready");
    const key = readFileSync(keyFile, "utf8");
    expect(await verify(key)).toBe("VALID");
    run.child.kill("SIGTERM");
    const r = await run.done;
    expect(r.code).toBe(143);
    expect(await verify(key)).toBe("REVOKED");
  });

  it("keyward killed with SIGKILL: the key still ends at its TTL", async () => {
    const keyFile = path.join(tmp, "kill.key");
    const run = start(["--project", projectId, "--ttl", "10m", "--", "node", CHILD, "wait", keyFile]);
    await run.until("ready");
    const key = readFileSync(keyFile, "utf8");
    run.child.kill("SIGKILL");
    await run.done;
    // Nothing revoked the key: the command, orphaned, still runs with it (until this test stops it).
    process.kill(Number(readFileSync(`${keyFile}.pid`, "utf8")), "SIGTERM");
    expect(await verify(key)).toBe("VALID");
    clock.advance(10 * 60_000 + 1000);
    expect(await verify(key)).toBe("EXPIRED");
  });

  it("refuses a TTL over the project's cap, and mints nothing", async () => {
    await t.client.updateProject(projectId, { ephemeral_max_ttl_seconds: 3600 });
    const before = (await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length;
    const r = await start(["--project", projectId, "--ttl", "2h", "--", "node", "-e", "console.log('never')"])
      .done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/at most 3600 s/);
    expect(r.stdout).not.toContain("never");
    expect((await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length).toBe(before);
  });

  it("--env-file turns keyward:// references into fresh keys and passes other lines through", async () => {
    const envFile = path.join(tmp, ".env");
    writeFileSync(envFile, `MY_KEY=keyward://${projectId}?ttl=30m&models=gpt-4o-mini&rpm=60\nPLAIN=hello\n`);
    const out = path.join(tmp, "env.json");
    const script = `require("fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({k: process.env.MY_KEY, p: process.env.PLAIN}))`;
    const r = await start(["--env-file", envFile, "--", "node", "-e", script]).done;
    expect(r.code).toBe(0);
    const seen = JSON.parse(readFileSync(out, "utf8")) as { k: string; p: string };
    expect(seen.p).toBe("hello");
    expect(seen.k).toMatch(KEY_SHAPE);
    expect(await verify(seen.k)).toBe("REVOKED");
    const minted = (await t.client.listKeys({ project_id: projectId, limit: 100 })).data.at(-1)!;
    expect(minted).toMatchObject({ allowed_models: ["gpt-4o-mini"], limits: { rpm: 60 } });
  });

  it("a command that does not exist: exit 127, and the key is revoked", async () => {
    const before = (await t.client.listKeys({ project_id: projectId, status: "active", limit: 100 })).data
      .length;
    const r = await start(["--project", projectId, "--", "no-such-command-kw"]).done;
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("cannot run no-such-command-kw: ENOENT");
    expect(
      (await t.client.listKeys({ project_id: projectId, status: "active", limit: 100 })).data.length,
    ).toBe(before);
  });
});
