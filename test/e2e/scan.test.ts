import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/hashing.js";
import { fakeKeywardKey, lookAlikeKey } from "../support/secrets.js";
import {
  buildCorpus,
  gitSync,
  isolatedEnv,
  keyward,
  requireBuild,
  type Corpus,
  type Planted,
} from "./scan-helpers.js";

/**
 * `keyward scan` end to end, as a user runs it (built CLI, child process), over a corpus the
 * test generates: thousands of files with planted valid keys (text, JSON, YAML, .env,
 * minified JS, files larger than the read window), wrong-checksum look-alikes, binaries, and a
 * real git repository where keys were committed and later removed.
 */

interface JsonFinding {
  detector: string;
  severity: string;
  masked: string;
  fingerprint: string;
  path: string;
  line: number;
  column: number;
  commit?: string;
}
interface JsonReport {
  mode: string;
  findings: JsonFinding[];
  skipped: Array<{ path: string; reason: string }>;
  allowlisted: number;
}

const FILES = 3000;
const key = (f: { fingerprint: string; path: string; line: number; column: number; detector: string }) =>
  `${f.detector} ${f.fingerprint} ${f.path}:${f.line}:${f.column}`;
const expected = (planted: Planted[], prefix = "") =>
  planted.map((p) => key({ ...p, path: prefix + p.path, fingerprint: sha256Hex(p.secret) })).sort();

describe("keyward scan over a generated corpus", () => {
  let tmp: string;
  let corpusDir: string;
  let corpus: Corpus;
  let env: Record<string, string>;

  beforeAll(() => {
    requireBuild();
    tmp = mkdtempSync(path.join(tmpdir(), "keyward-scan-e2e-"));
    corpusDir = path.join(tmp, "corpus");
    corpus = buildCorpus(corpusDir, FILES);
    env = isolatedEnv(tmp);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("finds 100% of planted keys at the right place, and no look-alike (JSON)", async () => {
    expect(corpus.files).toBeGreaterThan(FILES);
    expect(corpus.planted.length).toBeGreaterThan(500);
    expect(corpus.lookAlikes.length).toBeGreaterThan(500);
    const r = await keyward(["scan", "corpus", "--json"], tmp, env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    // Exactly the planted set: every one found, nothing else (look-alikes, binaries) reported.
    expect(report.findings.map(key).sort()).toEqual(expected(corpus.planted, "corpus/"));
    const lookAlikePrints = new Set(corpus.lookAlikes.map(sha256Hex));
    expect(report.findings.filter((f) => lookAlikePrints.has(f.fingerprint))).toEqual([]);
    expect(report.skipped.filter((s) => s.reason === "binary")).toHaveLength(5);
    // No secret in full anywhere in the output.
    for (const p of corpus.planted) expect(r.stdout).not.toContain(p.secret);
  });

  it("text output masks every secret; SARIF parses and carries the same results", async () => {
    const text = await keyward(["scan", "corpus"], tmp, env);
    expect(text.code).toBe(1);
    for (const p of corpus.planted.slice(0, 200)) {
      expect(text.stdout).not.toContain(p.secret);
      expect(text.stderr).not.toContain(p.secret);
    }
    expect(text.stdout.split("\n").filter((l) => /^corpus\/.+:\d+:\d+ /.test(l))).toHaveLength(
      corpus.planted.length,
    );
    expect(text.stderr).toMatch(
      new RegExp(`${corpus.planted.length.toLocaleString("en-US")} secrets found in`),
    );

    const sarif = await keyward(["scan", "corpus", "--sarif"], tmp, env);
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout) as {
      version: string;
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string }> } };
        results: Array<{
          ruleId: string;
          locations: Array<{
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }>;
          partialFingerprints: Record<string, string>;
        }>;
      }>;
    };
    expect(log.version).toBe("2.1.0");
    const results = log.runs[0]!.results;
    expect(results).toHaveLength(corpus.planted.length);
    const rules = new Set(log.runs[0]!.tool.driver.rules.map((x) => x.id));
    for (const res of results) expect(rules.has(res.ruleId)).toBe(true);
    expect(new Set(results.map((x) => Object.values(x.partialFingerprints)[0]))).toEqual(
      new Set(corpus.planted.map((p) => sha256Hex(p.secret))),
    );
    for (const p of corpus.planted) expect(sarif.stdout).not.toContain(p.secret);
  });

  it("exit codes: 0 when clean, 1 when found, 2 on error; stdin with -", async () => {
    const clean = path.join(tmp, "clean");
    mkdirSync(clean);
    writeFileSync(path.join(clean, "a.txt"), `nothing here but ${lookAlikeKey()}\n`);
    expect((await keyward(["scan", "clean"], tmp, env)).code).toBe(0);
    const missing = await keyward(["scan", "no-such-dir"], tmp, env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^keyward: cannot scan no-such-dir/);
    expect((await keyward(["scan", "--git", "clean"], tmp, env)).code).toBe(2);
    expect((await keyward(["scan", "--max-file-size", "lots"], tmp, env)).code).toBe(2);
    expect((await keyward(["scan", "--json", "--sarif"], tmp, env)).code).toBe(2);

    const k = fakeKeywardKey("test");
    const stdin = await keyward(["scan", "-", "--json"], tmp, env, `line one\n  token: ${k}\n`);
    expect(stdin.code).toBe(1);
    expect((JSON.parse(stdin.stdout) as JsonReport).findings).toMatchObject([
      { path: "-", line: 2, column: 10 },
    ]);
    expect((await keyward(["scan", "-"], tmp, env, "clean text\n")).code).toBe(0);
  });

  it("the allowlist suppresses findings by fingerprint; --fingerprint prints allowlist lines", async () => {
    const dir = path.join(tmp, "allow");
    cpSync(path.join(corpusDir, "pkg1"), dir, { recursive: true });
    const fp = await keyward(["scan", "allow", "--fingerprint"], tmp, env);
    expect(fp.code).toBe(1);
    const lines = fp.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{64} {2}# \S+ \S+ allow\/\S+:\d+$/);
    // Allowlist all but the first; then all.
    const file = path.join(tmp, "fixtures.allowlist");
    writeFileSync(file, "# known fixtures\n" + lines.slice(1).join("\n") + "\n");
    const partial = JSON.parse(
      (await keyward(["scan", "allow", "--json", "--allowlist", file], tmp, env)).stdout,
    ) as JsonReport;
    expect(partial.findings.map((f) => f.fingerprint)).toEqual([lines[0]!.slice(0, 64)]);
    expect(partial.allowlisted).toBe(lines.length - 1);
    writeFileSync(file, lines.join("\n") + "\n");
    expect((await keyward(["scan", "allow", "--allowlist", file], tmp, env)).code).toBe(0);
    // A broken allowlist is an error (2), and the bad line is not echoed.
    const k = fakeKeywardKey();
    writeFileSync(file, `${k}\n`);
    const bad = await keyward(["scan", "allow", "--allowlist", file], tmp, env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain(k);
  });

  describe("--git: history", () => {
    let repo: string;
    let commits: Record<string, string>;
    const late: Planted[] = [];
    let unreachable: string;
    let gitEnv: Record<string, string>;
    let date = 1_700_000_000;
    const commit = (msg: string) => {
      date += 60;
      const at = { GIT_AUTHOR_DATE: `${date} +0000`, GIT_COMMITTER_DATE: `${date} +0000` };
      gitSync(repo, { ...gitEnv, ...at }, "commit", "-q", "-m", msg);
      return gitSync(repo, gitEnv, "rev-parse", "HEAD").trim();
    };
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
      writeFileSync(path.join(repo, rel), text);
    };

    beforeAll(() => {
      repo = path.join(tmp, "repo");
      gitEnv = env;
      mkdirSync(repo);
      gitSync(repo, gitEnv, "init", "-q", "-b", "main");
      // 1: the whole corpus.
      cpSync(corpusDir, repo, { recursive: true });
      gitSync(repo, gitEnv, "add", "-A");
      commits = { corpus: commit("corpus") };
      // 2: a config with a key (line 3).
      const k1 = fakeKeywardKey("live");
      write("config/app.yaml", `name: app\nenv: prod\napi_key: ${k1}\n`);
      gitSync(repo, gitEnv, "add", "-A");
      commits.k1 = commit("add config");
      late.push({ secret: k1, detector: "keyward-live-key", path: "config/app.yaml", line: 3, column: 10 });
      // 3: the file changes (new blob, same key now on line 4) and another key lands elsewhere.
      write("config/app.yaml", `# config\nname: app\nenv: prod\napi_key: ${k1}\n`);
      const k2 = fakeKeywardKey("admin");
      write("scripts/deploy.sh", `#!/bin/sh\nexport KEYWARD_ADMIN_KEY="${k2}"\n`);
      gitSync(repo, gitEnv, "add", "-A");
      commits.k2 = commit("deploy script");
      late.push({
        secret: k2,
        detector: "keyward-admin-key",
        path: "scripts/deploy.sh",
        line: 2,
        column: 27,
      });
      // 4: both removed from the tree, plus a planted corpus file deleted.
      gitSync(repo, gitEnv, "rm", "-q", "config/app.yaml", "scripts/deploy.sh", "big/minified.js");
      commit("remove secrets");
      // 5: a key only on a side branch (never merged): reachable from a ref, so found.
      gitSync(repo, gitEnv, "checkout", "-q", "-b", "feature");
      const k3 = fakeKeywardKey("test");
      write("feature/.env", `A=1\nKEYWARD_KEY=${k3}\n`);
      gitSync(repo, gitEnv, "add", "-A");
      commits.k3 = commit("feature env");
      late.push({ secret: k3, detector: "keyward-test-key", path: "feature/.env", line: 2, column: 13 });
      gitSync(repo, gitEnv, "checkout", "-q", "main");
      // 6: a commit thrown away by reset: unreachable from every ref, so out of scope.
      unreachable = fakeKeywardKey("live");
      write("tmp.txt", `${unreachable}\n`);
      gitSync(repo, gitEnv, "add", "-A");
      commit("oops");
      gitSync(repo, gitEnv, "reset", "-q", "--hard", "HEAD~1");
    });

    it("finds every key in history once, at the commit, path and line where it first appeared", async () => {
      const r = await keyward(["scan", "--git", "repo", "--json"], tmp, env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as JsonReport;
      expect(report.mode).toBe("git");
      expect(report.findings.map(key).sort()).toEqual(
        [...expected(corpus.planted), ...expected(late)].sort(),
      );
      const commitOf = new Map(report.findings.map((f) => [f.fingerprint, f.commit]));
      for (const p of corpus.planted) expect(commitOf.get(sha256Hex(p.secret))).toBe(commits.corpus);
      expect(late.map((p) => commitOf.get(sha256Hex(p.secret)))).toEqual([
        commits.k1,
        commits.k2,
        commits.k3,
      ]);
      expect(commitOf.has(sha256Hex(unreachable))).toBe(false);
      for (const p of [...late, ...corpus.planted]) expect(r.stdout).not.toContain(p.secret);
    });

    it("the work tree alone no longer has the removed keys; history scan text names the commit", async () => {
      const tree = JSON.parse((await keyward(["scan", "repo", "--json"], tmp, env)).stdout) as JsonReport;
      const prints = new Set(tree.findings.map((f) => f.fingerprint));
      for (const p of late) expect(prints.has(sha256Hex(p.secret))).toBe(false);
      const text = await keyward(["scan", "--git", "repo"], tmp, env);
      expect(text.stdout).toContain(`scripts/deploy.sh:2:27  keyward-admin-key (critical)`);
      expect(text.stdout).toContain(`first committed in ${commits.k2}`);
      expect(existsSync(path.join(repo, "config", "app.yaml"))).toBe(false);
    });
  });
});
