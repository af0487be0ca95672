import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeKeywardKey } from "../../test/support/secrets.js";
import { defaultDetectors } from "./detectors.js";
import { ScanError } from "./errors.js";
import { scanPaths } from "./files.js";
import { Matcher } from "./matcher.js";

const matcher = new Matcher(defaultDetectors(["kw"]));
const limits = { maxFileSize: 1024 * 1024, gitignore: true };

describe("scanPaths", () => {
  let dir: string;
  const write = (rel: string, data: string | Buffer) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), data);
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keyward-scan-files-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("walks directories, skips binary and oversized files (reported), never .git or symlinks", async () => {
    const key = fakeKeywardKey();
    write("a/b/c.env", `KEY=${key}\n`);
    write("image.png", Buffer.concat([Buffer.from([0x89, 0x50, 0, 0]), Buffer.from(key)]));
    write("huge.log", `${"x".repeat(2 * 1024 * 1024)} ${key}\n`);
    write(".git/config", `token=${key}\n`);
    symlinkSync(path.join(dir, "a"), path.join(dir, "loop"));
    const r = await scanPaths([dir], matcher, limits);
    expect(r.findings.map((f) => [path.relative(dir, f.path), f.line, f.column])).toEqual([
      ["a/b/c.env", 1, 5],
    ]);
    expect(r.skipped.map((s) => [path.basename(s.path), s.reason]).sort()).toEqual([
      ["huge.log", "too_large"],
      ["image.png", "binary"],
    ]);
    expect(r.scanned.items).toBe(1);
    // No cap: the huge file is scanned (streamed, not loaded).
    const all = await scanPaths([dir], matcher, { ...limits, maxFileSize: 0 });
    expect(all.findings.map((f) => path.basename(f.path)).sort()).toEqual(["c.env", "huge.log"]);
  });

  it("inside a git work tree honours .gitignore unless told not to", async () => {
    const key = fakeKeywardKey();
    execFileSync("git", ["init", "-q", dir]);
    write(".gitignore", "node_modules/\n*.local\n");
    write("src/app.ts", `const k = "${key}";\n`);
    write("node_modules/dep/index.js", `module.exports="${key}"\n`);
    write("secrets.local", `${key}\n`);
    const honoured = await scanPaths([dir], matcher, limits);
    expect(honoured.findings.map((f) => path.relative(dir, f.path))).toEqual(["src/app.ts"]);
    const all = await scanPaths([dir], matcher, { ...limits, gitignore: false });
    expect(all.findings.map((f) => path.relative(dir, f.path)).sort()).toEqual([
      "node_modules/dep/index.js",
      "secrets.local",
      "src/app.ts",
    ]);
    // An ignored directory named explicitly is scanned.
    const named = await scanPaths([path.join(dir, "node_modules")], matcher, limits);
    expect(named.findings).toHaveLength(1);
  });

  it("a path that does not exist is an error, not a clean result", async () => {
    await expect(scanPaths([path.join(dir, "nope")], matcher, limits)).rejects.toBeInstanceOf(ScanError);
  });
});
