/**
 * A scan could not be done as asked (missing path, not a git repository, git failed, bad
 * allowlist). The CLI reports it as one line with exit code 2: "could not scan" must never
 * look like "scanned, nothing found" (0) or "found something" (1).
 */
export class ScanError extends Error {
  override name = "ScanError";
}
