import { describe, expect, it } from "vitest";
import { fakeKeywardKey } from "../../test/support/secrets.js";
import { applyAllowlist, parseAllowlist } from "./allowlist.js";
import { ScanError } from "./errors.js";
import { makeFinding } from "./finding.js";
import { keywardDetectors } from "./detectors.js";

describe("allowlist", () => {
  const fp = "a".repeat(64);
  it("reads one fingerprint per line with comments and blank lines", () => {
    const set = parseAllowlist(`# fixtures\n\n${fp}  # test/fixtures/key.txt\r\n  ${"B".repeat(64)}\n`, "x");
    expect([...set]).toEqual([fp, "b".repeat(64)]);
  });

  it("rejects anything else by line number, without echoing the line (it may be a secret)", () => {
    const key = fakeKeywardKey();
    let err: unknown;
    try {
      parseAllowlist(`${fp}\n${key}\n`, ".keyward-allowlist");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScanError);
    expect((err as Error).message).toContain(".keyward-allowlist:2:");
    expect((err as Error).message).not.toContain(key.slice(8));
  });

  it("suppresses findings by fingerprint and counts them", () => {
    const [d] = keywardDetectors(["kw"]);
    const a = makeFinding(d!, fakeKeywardKey(), { path: "a", line: 1, column: 1 });
    const b = makeFinding(d!, fakeKeywardKey(), { path: "b", line: 1, column: 1 });
    expect(applyAllowlist([a, b], new Set([a.fingerprint]))).toEqual({ findings: [b], allowlisted: 1 });
  });
});
