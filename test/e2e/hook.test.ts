import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/hashing.js";
import { fakeKeywardKey, fakeProviderKey } from "../support/secrets.js";
import { gitSync, isolatedEnv, keyward, requireBuild, run } from "./scan-helpers.js";

/**
 * The pre-commit hook with real git in a temp repo: `keyward hook install`, then commits that
 * must be blocked (a key staged, also via `commit -a`'s temporary index) or let through (clean,
 * key only in the unstaged work tree, allowlisted fixture), refusal to overwrite a foreign
 * hook, and uninstall.
 */
describe("keyward hook install: pre-commit", () => {
  let tmp: string;
  let repo: string;
  let env: Record<string, string>;
  const git = (...args: string[]) => gitSync(repo, env, ...args);
  const commit = (...args: string[]) => run("git", ["commit", "-m", "test", ...args], { cwd: repo, env });
  const head = () => git("rev-parse", "HEAD").trim();
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), text);
  };
  const hookFile = () => path.join(repo, ".git", "hooks", "pre-commit");

  beforeAll(() => {
    requireBuild();
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-hook-e2e-"));
    repo = path.join(tmp, "repo");
    env = isolatedEnv(tmp);
    mkdirSync(repo);
    git("init", "-q", "-b", "main");
    write("README.md", "# demo\n");
    git("add", "-A");
    git("commit", "-q", "-m", "initial");
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("installs an executable hook that records absolute paths to node and keyward", async () => {
    const r = await keyward(["hook", "install"], repo, env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("installed keyward pre-commit hook");
    const script = readFileSync(hookFile(), "utf8");
    expect(script).toContain(`KEYWARD_NODE='${process.execPath}'`);
    expect(statSync(hookFile()).mode & 0o100).not.toBe(0);
    // Re-running updates in place.
    expect((await keyward(["hook", "install"], repo, env)).stdout).toContain("updated");
  });

  it("lets a clean commit through", async () => {
    write("src/app.ts", "export const url = process.env.KEYWARD_URL;\n");
    git("add", "-A");
    const before = head();
    const r = await commit();
    expect(r.code).toBe(0);
    expect(head()).not.toBe(before);
  });

  it("blocks a commit that adds a key, naming file and line and how to proceed", async () => {
    const key = fakeKeywardKey("live");
    write("config/prod.env", `PORT=8080\nKEYWARD_KEY=${key}\n`);
    git("add", "-A");
    const before = head();
    const r = await commit();
    expect(r.code).not.toBe(0);
    expect(head()).toBe(before);
    const out = r.stdout + r.stderr;
    expect(out).toContain("config/prod.env:2:13");
    expect(out).toContain("commit blocked");
    expect(out).toContain(".keyward-allowlist");
    expect(out).toContain("--no-verify");
    expect(out).not.toContain(key);
    git("reset", "-q", "config/prod.env");
    rmSync(path.join(repo, "config"), { recursive: true });
  });

  it("scans the staged content, not the work tree", async () => {
    const key = fakeProviderKey.openaiProject();
    // Staged: clean. Work tree: a key, not added. The commit goes through.
    write("notes.txt", "todo\n");
    git("add", "notes.txt");
    write("notes.txt", `todo\nOPENAI_API_KEY=${key}\n`);
    expect((await commit()).code).toBe(0);
    // Staged: the key. Work tree: cleaned but not re-added. Blocked.
    git("add", "notes.txt");
    write("notes.txt", "todo\n");
    const blocked = await commit();
    expect(blocked.code).not.toBe(0);
    expect(blocked.stdout + blocked.stderr).toContain("notes.txt:2:16");
    write("notes.txt", "todo\ndone\n");
    git("add", "notes.txt");
    expect((await commit()).code).toBe(0);
  });

  it("`git commit -a` (a temporary index) is scanned too", async () => {
    const key = fakeKeywardKey("admin");
    write("src/app.ts", `export const admin = "${key}";\n`);
    const r = await commit("-a");
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("src/app.ts:1:23");
    git("checkout", "--", "src/app.ts");
  });

  it("an allowlisted fingerprint (a known test fixture) passes", async () => {
    const key = fakeKeywardKey("test");
    write("test/fixtures/key.txt", `${key}\n`);
    git("add", "-A");
    expect((await commit()).code).not.toBe(0);
    write(
      ".keyward-allowlist",
      `# test fixture, never a real key\n${sha256Hex(key)}  # test/fixtures/key.txt\n`,
    );
    git("add", "-A");
    const before = head();
    expect((await commit()).code).toBe(0);
    expect(head()).not.toBe(before);
  });

  it("refuses to overwrite someone else's hook; uninstall removes only its own", async () => {
    const r = await keyward(["hook", "install", "--uninstall"], repo, env);
    expect(r.code).toBe(0);
    expect(existsSync(hookFile())).toBe(false);
    // Without the hook a key commits (which is why the hook exists).
    write("leak.txt", `${fakeKeywardKey()}\n`);
    git("add", "-A");
    expect((await commit()).code).toBe(0);

    writeFileSync(hookFile(), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const refused = await keyward(["hook", "install"], repo, env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not written by keyward.*Add this line/);
    expect(readFileSync(hookFile(), "utf8")).toBe("#!/bin/sh\nexit 0\n");
    expect((await keyward(["hook", "install", "--uninstall"], repo, env)).code).toBe(2);
    expect(readFileSync(hookFile(), "utf8")).toBe("#!/bin/sh\nexit 0\n");
  });

  it("outside a git repository: a clear error, exit 2", async () => {
    const r = await keyward(["hook", "install"], tmp, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keyward: not a git repository/);
  });
});
