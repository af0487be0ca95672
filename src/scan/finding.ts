import { sha256Hex } from "../core/hashing.js";
import type { Detector, Severity } from "./detectors.js";

/**
 * One secret found at one place. `secret` stays in memory (for `--revoke`) and is never
 * printed or serialised: output uses `masked`, and allowlists use `fingerprint`.
 */
export interface Finding {
  detector: string;
  severity: Severity;
  secret: string;
  masked: string;
  /** SHA-256 hex of the secret: stable across files and runs, safe to share. */
  fingerprint: string;
  /** Path with forward slashes: relative to the scanned root, `-` for stdin. */
  path: string;
  line: number;
  column: number;
  /** Git mode: the commit that first introduced the secret. */
  commit?: string;
}

/** Builds a finding from what the stream scanner saw. */
export function makeFinding(
  detector: Detector,
  secret: string,
  where: { path: string; line: number; column: number; commit?: string },
): Finding {
  return {
    detector: detector.id,
    severity: detector.severity,
    secret,
    masked: detector.mask(secret),
    fingerprint: sha256Hex(secret),
    path: where.path,
    line: where.line,
    column: where.column,
    ...(where.commit !== undefined ? { commit: where.commit } : {}),
  };
}

/** A finding as it may be printed or written: everything but the secret. */
export type PublicFinding = Omit<Finding, "secret">;

/** Drops the secret; every serialiser goes through this. */
export function publicFinding(f: Finding): PublicFinding {
  return {
    detector: f.detector,
    severity: f.severity,
    masked: f.masked,
    fingerprint: f.fingerprint,
    path: f.path,
    line: f.line,
    column: f.column,
    ...(f.commit !== undefined ? { commit: f.commit } : {}),
  };
}

/** Sorts findings by path, line, column (then detector): stable output for diffs and tests. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column ||
    (a.detector < b.detector ? -1 : a.detector > b.detector ? 1 : 0)
  );
}
