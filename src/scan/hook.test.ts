import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScanError } from "./errors.js";
import { HOOK_MARKER, hookScript, installHook, shellQuote, uninstallHook } from "./hook.js";

describe("pre-commit hook file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keyward-hook-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("quotes paths for sh, records absolute node and script paths, passes scan flags", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    const s = hookScript({ node: "/opt/node 20/bin/node", script: "/srv/key'ward/bin/keyward.js" }, [
      "--brand",
      "acme",
    ]);
    expect(s.startsWith("#!/bin/sh\n")).toBe(true);
    expect(s).toContain(HOOK_MARKER);
    expect(s).toContain(`KEYWARD_NODE='/opt/node 20/bin/node'`);
    expect(s).toContain(`KEYWARD_SCRIPT='/srv/key'\\''ward/bin/keyward.js'`);
    expect(s).toContain(`exec "$KEYWARD_NODE" "$KEYWARD_SCRIPT" 'scan' '--staged' '--brand' 'acme'`);
    expect(hookScript({ shell: "npx --no-install keyward" })).toContain(
      "npx --no-install keyward 'scan' '--staged' || exit $?",
    );
  });

  it("installs (executable), updates its own hook, refuses someone else's, uninstalls only its own", () => {
    const file = path.join(dir, "hooks", "pre-commit");
    const script = hookScript({ node: "/usr/bin/node", script: "/k/bin/keyward.js" });
    expect(installHook(file, script)).toBe("installed");
    expect(statSync(file).mode & 0o111).not.toBe(0);
    expect(installHook(file, script)).toBe("updated");
    expect(uninstallHook(file)).toBe("removed");
    expect(uninstallHook(file)).toBe("absent");

    writeFileSync(file, "#!/bin/sh\nnpm test\n");
    expect(() => installHook(file, script)).toThrow(ScanError);
    expect(() => installHook(file, script)).toThrow(/not written by keyward.*scan.*--staged/);
    expect(() => uninstallHook(file)).toThrow(ScanError);
    expect(readFileSync(file, "utf8")).toBe("#!/bin/sh\nnpm test\n");
  });
});
