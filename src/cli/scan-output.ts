import type { Detector } from "../scan/detectors.js";
import { publicFinding, type Finding } from "../scan/finding.js";
import type { ScanResult } from "../scan/run.js";
import type { Revocation } from "./scan-revoke.js";

/**
 * Renderings of a scan for people (text), scripts (JSON) and allowlists (fingerprint lines).
 * Every one goes through `publicFinding`/`masked`: no path here can print a whole secret.
 */

/** Human-readable size: 1.2 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const plural = (n: number, one: string, many = one + "s") =>
  `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/** One finding as two lines: where, what, masked secret; then fingerprint and commit. */
export function renderFinding(f: Finding): string {
  const where = `${f.path}:${f.line}:${f.column}`;
  const commit = f.commit ? `  first committed in ${f.commit}` : "";
  return `${where}  ${f.detector} (${f.severity})  ${f.masked}\n    fingerprint ${f.fingerprint}${commit}`;
}

/** The text report's stdout part: findings only, so `| wc -l`-style use stays simple. */
export function renderFindings(findings: readonly Finding[]): string {
  return findings.map(renderFinding).join("\n");
}

/** The summary line (stderr): counts, size, time, what was skipped or allowlisted. */
export function renderSummary(r: ScanResult, unit: string): string {
  const found = r.findings.length ? `${plural(r.findings.length, "secret")} found` : "no secrets found";
  const parts = [
    `${found} in ${plural(r.scanned.items, unit)} (${formatBytes(r.scanned.bytes)}) in ${(r.durationMs / 1000).toFixed(2)} s`,
  ];
  if (r.allowlisted) parts.push(`${r.allowlisted} allowlisted`);
  if (r.skipped.length)
    parts.push(`${r.skipped.length} skipped (binary, too large or unreadable; --verbose lists them)`);
  return parts.join("; ");
}

/** Skipped files, one per line (stderr, with --verbose). */
export function renderSkipped(r: ScanResult): string {
  return r.skipped
    .map(
      (s) =>
        `skipped ${s.path}${s.blob ? ` (blob ${s.blob.slice(0, 12)})` : ""}: ${s.reason.replace("_", " ")}` +
        `${s.size !== undefined ? `, ${formatBytes(s.size)}` : ""}${s.detail ? ` (${s.detail})` : ""}`,
    )
    .join("\n");
}

/** `--fingerprint`: lines ready to append to .keyward-allowlist. */
export function renderFingerprints(findings: readonly Finding[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of findings) {
    if (seen.has(f.fingerprint)) continue;
    seen.add(f.fingerprint);
    out.push(`${f.fingerprint}  # ${f.detector} ${f.masked} ${f.path}:${f.line}`);
  }
  return out.join("\n");
}

/** The `--json` document. */
export function toJson(r: ScanResult, mode: string, revocations?: readonly Revocation[]): unknown {
  return {
    mode,
    findings: r.findings.map(publicFinding),
    skipped: r.skipped,
    allowlisted: r.allowlisted,
    scanned: { [mode === "paths" ? "files" : "blobs"]: r.scanned.items, bytes: r.scanned.bytes },
    duration_ms: Math.round(r.durationMs),
    ...(revocations ? { revocations } : {}),
  };
}

/** What the pre-commit hook prints (stderr) when it blocks a commit. */
export function renderBlocked(findings: readonly Finding[], detectors: readonly Detector[]): string {
  const byId = new Map(detectors.map((d) => [d.id, d]));
  const lines = [
    "",
    `keyward: commit blocked: ${plural(findings.length, "secret")} in the staged changes:`,
    ...findings.map((f) => `  ${f.path}:${f.line}:${f.column}  ${f.detector}  ${f.masked}`),
    "",
    "How to proceed:",
    "  1. Remove the key from the file and read it from an environment variable or a secret",
    "     store instead; then `git add` the file again and commit.",
    "  2. If it is a test fixture and not a real key, allowlist it by fingerprint:",
    ...[...new Map(findings.map((f) => [f.fingerprint, f])).values()].map(
      (f) => `       echo '${f.fingerprint}  # ${f.path}' >> .keyward-allowlist`,
    ),
    "  3. If it is a real key that was shared anywhere already, treat it as leaked:",
  ];
  const hints = new Set(findings.map((f) => byId.get(f.detector)?.remediation).filter(Boolean));
  for (const h of hints) lines.push(`       ${h}`);
  lines.push("  Last resort (skips this check once): git commit --no-verify", "");
  return lines.join("\n");
}
