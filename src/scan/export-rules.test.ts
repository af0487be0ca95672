import { describe, expect, it } from "vitest";
import { fakeKeywardKey, lookAlikeKey } from "../../test/support/secrets.js";
import { exportRules, keyRegex } from "./export-rules.js";

describe("--export-rules", () => {
  it("the exported regex finds this brand's keys (shape only: look-alikes too, as documented)", () => {
    const re = new RegExp(keyRegex("acme"));
    expect(re.exec(`x = "${fakeKeywardKey("live", "acme")}"`)).not.toBeNull();
    expect(re.exec(`x = "${lookAlikeKey("admin", "acme")}"`)).not.toBeNull();
    expect(re.exec(`x = "${fakeKeywardKey("live", "kw")}"`)).toBeNull();
  });

  it("gitleaks: a [[rules]] table per brand with id, regex and keywords, and the checksum caveat", () => {
    const toml = exportRules("gitleaks", ["kw", "acme"]);
    expect(toml).toContain('[[rules]]\nid = "keyward-kw-key"');
    expect(toml).toContain('id = "keyward-acme-key"');
    expect(toml).toContain(`regex = '''${keyRegex("kw")}'''`);
    expect(toml).toContain('keywords = ["kw_live_", "kw_test_", "kw_admin_"]');
    expect(toml).toMatch(/# .*checksum/);
  });

  it("trufflehog: a custom detector with keywords and a regex", () => {
    const yaml = exportRules("trufflehog", ["kw"]);
    expect(yaml).toContain("detectors:\n  - name: keyward-kw-key\n    keywords:\n      - kw_live_");
    expect(yaml).toContain(`      key: '${keyRegex("kw")}'`);
    expect(yaml).toMatch(/# .*checksum/);
  });
});
