import type { Detector, Severity } from "./detectors.js";
import type { Finding } from "./finding.js";

/** SARIF result levels by severity: code-scanning UIs show `error` as a blocking alert. */
const LEVEL: Record<Severity, "error" | "warning" | "note"> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
};

/** GitHub code scanning reads `security-severity` (0–10) to label alerts critical/high/… */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
};

/** The fingerprint key in `partialFingerprints`: a hash of the secret, stable across moves. */
export const SARIF_FINGERPRINT_KEY = "secretSha256/v1";

/** The minimal SARIF 2.1.0 shape this module writes (enough for typing, not the full schema). */
export interface SarifLog {
  $schema: string;
  version: "2.1.0";
  runs: Array<{
    tool: { driver: Record<string, unknown> & { rules: Array<Record<string, unknown> & { id: string }> } };
    results: Array<Record<string, unknown> & { ruleId: string }>;
    invocations: Array<Record<string, unknown>>;
    columnKind: "utf16CodeUnits";
  }>;
}

/**
 * Builds a SARIF 2.1.0 log: one rule per detector, one result per finding with its location
 * and a `partialFingerprints` entry (the secret's SHA-256) so code-scanning UIs track the same
 * leak across runs and line moves. The secret itself never appears — only its masked form.
 */
export function toSarif(
  findings: readonly Finding[],
  detectors: readonly Detector[],
  tool: { version: string; informationUri?: string },
): SarifLog {
  const ruleIndex = new Map(detectors.map((d, i) => [d.id, i]));
  const rules = detectors.map((d) => ({
    id: d.id,
    name: ruleName(d.id),
    shortDescription: { text: d.description },
    fullDescription: { text: `${d.description}. A secret in source or history must be treated as leaked.` },
    help: {
      text: `If this is a real secret: ${d.remediation}.`,
      markdown: `If this is a real secret: ${d.remediation}.`,
    },
    defaultConfiguration: { level: LEVEL[d.severity] },
    properties: {
      tags: ["security", "secret"],
      "security-severity": SECURITY_SEVERITY[d.severity],
      precision: "high",
    },
  }));
  const results = findings.map((f) => ({
    ruleId: f.detector,
    ...(ruleIndex.has(f.detector) ? { ruleIndex: ruleIndex.get(f.detector)! } : {}),
    level: LEVEL[f.severity],
    message: {
      text: `${f.masked} (${f.detector})${f.commit ? ` first committed in ${f.commit}` : ""}`,
    },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: encodeUri(f.path), ...(f.path === "-" ? {} : { uriBaseId: "%SRCROOT%" }) },
          region: {
            startLine: f.line,
            startColumn: f.column,
            endLine: f.line,
            endColumn: f.column + f.secret.length,
          },
        },
      },
    ],
    partialFingerprints: { [SARIF_FINGERPRINT_KEY]: f.fingerprint },
    properties: { masked: f.masked, ...(f.commit ? { commit: f.commit } : {}) },
  }));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "keyward",
            version: tool.version,
            semanticVersion: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules,
          },
        },
        results,
        invocations: [{ executionSuccessful: true }],
        columnKind: "utf16CodeUnits",
      },
    ],
  };
}

/** `openai-api-key` → `OpenaiApiKey` (SARIF rule names are PascalCase by convention). */
function ruleName(id: string): string {
  return id
    .split("-")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** A relative path as a URI reference: each segment percent-encoded, slashes kept. */
function encodeUri(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}
