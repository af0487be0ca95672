import { readFileSync } from "node:fs";
import { ScanError } from "./errors.js";
import type { Finding } from "./finding.js";

/** The default allowlist file name, looked up at the repository root (or the current directory). */
export const ALLOWLIST_FILE = ".keyward-allowlist";

const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * Parses an allowlist: one SHA-256 fingerprint (64 hex digits) per line, as printed by
 * `keyward scan --fingerprint`; `#` starts a comment (whole-line or trailing); blank lines are
 * ignored. Fingerprints, not values: the file is committed next to the code, and a list of
 * secret values would itself be a leak. A bad line is an error naming the line number only —
 * never its content, which may be exactly the secret someone pasted by mistake.
 */
export function parseAllowlist(text: string, source: string): Set<string> {
  const out = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf("#");
    const entry = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim().toLowerCase();
    if (entry === "") continue;
    if (!FINGERPRINT.test(entry)) {
      throw new ScanError(
        `${source}:${i + 1}: not a SHA-256 fingerprint (64 hex digits; the line is not shown in case it is a secret). ` +
          "Get fingerprints with `keyward scan --fingerprint`",
      );
    }
    out.add(entry);
  }
  return out;
}

/** Reads an allowlist file; a missing file is an empty list unless it was asked for explicitly. */
export function loadAllowlist(file: string, required: boolean): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return new Set();
    throw new ScanError(`cannot read allowlist ${file}: ${code ?? String(err)}`);
  }
  return parseAllowlist(text, file);
}

/** Splits findings into those to report and the number suppressed by the allowlist. */
export function applyAllowlist(
  findings: readonly Finding[],
  allow: ReadonlySet<string>,
): { findings: Finding[]; allowlisted: number } {
  const kept = findings.filter((f) => !allow.has(f.fingerprint));
  return { findings: kept, allowlisted: findings.length - kept.length };
}
