import { describe, expect, it } from "vitest";
import { fakeKeywardKey, fakeProviderKey } from "../../test/support/secrets.js";
import { defaultDetectors } from "./detectors.js";
import { makeFinding } from "./finding.js";
import { SARIF_FINGERPRINT_KEY, toSarif } from "./sarif.js";

describe("SARIF output", () => {
  it("has one rule per detector and located results with fingerprints, never the secret", () => {
    const detectors = defaultDetectors(["kw"]);
    const byId = (id: string) => detectors.find((d) => d.id === id)!;
    const key = fakeKeywardKey("admin");
    const openai = fakeProviderKey.openaiProject();
    const findings = [
      makeFinding(byId("keyward-admin-key"), key, { path: "src/my app/config.ts", line: 3, column: 7 }),
      makeFinding(byId("openai-api-key"), openai, {
        path: "old.env",
        line: 1,
        column: 1,
        commit: "c".repeat(40),
      }),
    ];
    const log = toSarif(findings, detectors, { version: "1.2.3" });
    const text = JSON.stringify(log);
    expect(text).not.toContain(key.slice(9, -4));
    expect(text).not.toContain(openai.slice(8, -4));
    const run = log.runs[0]!;
    expect(log.version).toBe("2.1.0");
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(detectors.map((d) => d.id));
    expect(run.results[0]).toMatchObject({
      ruleId: "keyward-admin-key",
      ruleIndex: detectors.findIndex((d) => d.id === "keyward-admin-key"),
      level: "error",
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: "src/my%20app/config.ts", uriBaseId: "%SRCROOT%" },
            region: { startLine: 3, startColumn: 7, endLine: 3, endColumn: 7 + key.length },
          },
        },
      ],
      partialFingerprints: { [SARIF_FINGERPRINT_KEY]: findings[0]!.fingerprint },
    });
    expect(run.results[1]).toMatchObject({ properties: { commit: "c".repeat(40) } });
  });
});
