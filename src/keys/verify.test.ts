import { describe, expect, it } from "vitest";
import { generateKey } from "../core/key-format.js";
import { CheckedKey } from "./verify.js";

describe("CheckedKey.check (verify step 1, offline)", () => {
  it("accepts live and test keys of the brand with a valid checksum", () => {
    for (const kind of ["live", "test"] as const) {
      const key = generateKey("kw", kind);
      expect(CheckedKey.check(key, "kw")?.secret).toBe(key);
    }
  });

  it("refuses admin keys, other brands, bad checksums and junk", () => {
    const live = generateKey("kw", "live");
    const typo = live.slice(0, -1) + (live.endsWith("A") ? "B" : "A");
    for (const bad of [
      generateKey("kw", "admin"),
      generateKey("acme", "live"),
      typo,
      "kw_live_",
      "",
      "sk-abc",
    ]) {
      expect(CheckedKey.check(bad, "kw")).toBeNull();
    }
  });

  it("keeps the secret out of JSON and of inspection", async () => {
    const key = generateKey("kw", "live");
    const checked = CheckedKey.check(key, "kw")!;
    expect(JSON.stringify({ key: checked })).not.toContain(key);
    const { inspect } = await import("node:util");
    expect(inspect(checked)).not.toContain(key);
  });
});
